# Copyright (c) sak_mm contributors. All rights reserved.
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    scope = {}
    with open(osp.join(HERE, 'sak_mm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(name: str) -> list:
    """Requirement lines of requirements/<name>.txt (comments dropped)."""
    with open(osp.join(HERE, 'requirements', name + '.txt')) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


setup(
    name='sak_mm',
    version=get_version(),
    description='Multi-teacher distillation of vision foundation models into '
    'one multi-task dense-prediction student (SAK, ICLR 2025), OpenMMLab '
    'style',
    long_description=open(osp.join(HERE, 'README.md')).read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    python_requires='>=3.10',  # torch 2.14 needs it
    install_requires=parse_requirements('mminstall') +
    parse_requirements('runtime'),
    extras_require=dict(
        tests=parse_requirements('tests'),
        optional=parse_requirements('optional'),
        docs=parse_requirements('docs'),
        deploy=parse_requirements('deploy'),
    ),
    zip_safe=False)
