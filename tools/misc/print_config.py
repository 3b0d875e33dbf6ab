# Copyright (c) sak_mm contributors. All rights reserved.
"""Print a config as the tools run it: its ``_base_`` files merged, the
``--cfg-options`` applied and the config's switches (``tasks``, the speed
layer) passed on.

    python tools/misc/print_config.py CONFIG [--cfg-options KEY=VALUE ...]
        [--save-path merged.py]
"""
import argparse

from mmengine.config import DictAction


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, e.g. model.neck.mode=sum')
    parser.add_argument('--save-path',
                        help='also write the merged config (.py, .json or '
                        '.yml)')
    return parser.parse_args()


def main():
    args = parse_args()
    from sak_mm.utils import load_config
    cfg = load_config(args.config, args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path:
        cfg.dump(args.save_path)
        print(f'written to {args.save_path}')


if __name__ == '__main__':
    main()
