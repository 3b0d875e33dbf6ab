# Copyright (c) sak_mm contributors. All rights reserved.
"""Compile the fused kernels of ``sak_mm.ops`` for an NVIDIA GPU without
one, and report what ptxas says about them.

    python tools/benchmarks/kernel_report.py            # sm_90 (H100)
    python tools/benchmarks/kernel_report.py --arch 80  # A100

For the launch configurations the ops pick at ViT-S/B/L widths (fp32 and
bf16), prints registers per thread, spilled bytes, shared memory and
whether tensor-core instructions (``wgmma`` on sm_90, ``mma`` before) were
emitted. Uses triton's bundled ptxas; needs no driver, but the real
compiler, so ``TRITON_INTERPRET`` must be off.
"""
import argparse
import importlib
import itertools
import os
import re
import subprocess
import sys
import tempfile

import torch

SHARED_LIMIT = {80: 166912, 86: 101376, 89: 101376, 90: 232448}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', type=int, default=90,
                        help='compute capability x 10 (90 = H100)')
    return parser.parse_args()


def ptxas_report(ptx: str, arch: int) -> dict:
    import triton
    ptxas = os.path.join(os.path.dirname(triton.__file__),
                         'backends', 'nvidia', 'bin', 'ptxas')
    gpu = f'sm_{arch}a' if arch == 90 else f'sm_{arch}'
    with tempfile.NamedTemporaryFile('w', suffix='.ptx',
                                     delete=False) as f:
        f.write(ptx)
    try:
        out = subprocess.run([ptxas, '-v', f'--gpu-name={gpu}', f.name,
                              '-o', os.devnull],
                             capture_output=True, text=True, check=True)
    finally:
        os.unlink(f.name)
    text = out.stdout + out.stderr
    return dict(
        registers=int(re.search(r'Used (\d+) registers', text).group(1)),
        spill=int(re.search(r'(\d+) bytes spill stores', text).group(1)))


def compile_kernel(fn, signature: dict, constexprs: dict, options: dict,
                   arch: int) -> dict:
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    sig = dict(signature, **{k: 'constexpr' for k in constexprs})
    kernel = triton.compile(
        ASTSource(fn=fn, signature=sig, constexprs=constexprs),
        target=GPUTarget('cuda', arch, 32), options=options)
    ptx = kernel.asm['ptx']
    report = ptxas_report(ptx, arch)
    report['shared'] = kernel.metadata.shared
    report['tensor_cores'] = 'wgmma.mma_async' in ptx or 'mma.sync' in ptx
    return report


def cases():
    """(name, kernel, signature, constexprs, options) of the launches the
    ops make at ViT-S/B/L widths (8 images of 448x576, 3 teachers, 4 and 5
    tasks): training steps everywhere, the first adapter without gradients
    (inference) at ViT-L."""
    from sak_mm.ops._triton import DTYPE_CODE
    adapter = importlib.import_module('sak_mm.ops.adapter')
    mix = importlib.import_module('sak_mm.ops.mor_mix')
    tokens = 8 * (1 + 28 * 36)
    for dims in (384, 768, 1024):
        for dtype, name in ((torch.bfloat16, 'bf16'), (torch.float32,
                                                       'fp32')):
            ptr = '*bf16' if dtype == torch.bfloat16 else '*fp32'
            launch = adapter._launch_config(tokens, dims, dims // 4, dtype)
            options = {k: launch.pop(k) for k in ('num_warps', 'num_stages')}
            signature = dict(
                z_ptr='*fp32', r_ptr='*fp32', wd_ptr=ptr, bd_ptr='*fp32',
                wu_ptr=ptr, bu_ptr='*fp32', s_ptr='*fp32', out_ptr='*fp32',
                x_ptr=ptr, h_ptr=ptr, M='i32', D='i32', R='i32')
            for has_res, save, what in ((True, True, 'train'),
                                        (False, False, 'first, no grad')):
                if not has_res and dims != 1024:
                    continue
                constexprs = dict(HAS_RES=has_res, SAVE=save,
                                  GEMM=DTYPE_CODE[dtype], EMULATE=False,
                                  IEEE=dtype == torch.float32, **launch)
                yield (f'adapter d={dims} {name} {what}',
                       adapter._adapter_fwd_kernel, signature, constexprs,
                       options)
    dtypes = dict(fp32='float32', bf16='bfloat16')
    for tasks, dtype, per_pixel in itertools.product((4, 5), dtypes,
                                                     (False, True)):
        launch = mix._launch_config(1008 * 1024, tasks)
        options = dict(num_warps=launch.pop('num_warps'))
        constexprs = dict(
            E=4, PER_PIXEL=per_pixel,
            ROUND=DTYPE_CODE[getattr(torch, dtypes[dtype])], **launch)
        maps = dict(tas_ptr=f'*{dtype}', tsap_ptr=f'*{dtype}', g_ptr='*fp32')
        sizes = dict(B='i32', P='i32', D='i32', PD='i32', tas_stride_b='i32',
                     T='i32')
        gates = 'per pixel' if per_pixel else 'per image'
        yield (f'mor_mix fwd T={tasks} {dtype} {gates}',
               mix._mor_mix_fwd_kernel,
               dict(maps, out_ptr=f'*{dtype}', **sizes), constexprs, options)
        yield (f'mor_mix bwd T={tasks} {dtype} {gates}',
               mix._mor_mix_bwd_kernel,
               dict(maps, dout_ptr=f'*{dtype}', dtas_ptr=f'*{dtype}',
                    dtsap_ptr=f'*{dtype}', dg_part_ptr='*fp32', **sizes),
               constexprs, options)


def main():
    args = parse_args()
    if os.environ.get('TRITON_INTERPRET', '0') == '1':
        sys.exit('kernel_report.py compiles for a GPU: unset '
                 'TRITON_INTERPRET')
    limit = SHARED_LIMIT.get(args.arch)
    rows = [('kernel', 'registers', 'spill B', 'shared B', 'tensor cores')]
    for name, fn, signature, constexprs, options in cases():
        r = compile_kernel(fn, signature, constexprs, options, args.arch)
        rows.append((name, r['registers'], r['spill'], r['shared'],
                     'yes' if r['tensor_cores'] else '-'))
        if limit and r['shared'] > limit:
            rows[-1] += (f'over the {limit} B limit', )
    widths = [max(len(str(r[i])) for r in rows if len(r) > i)
              for i in range(5)]
    for row in rows:
        print('  '.join(str(v).ljust(w) for v, w in zip(row, widths)),
              *row[5:])


if __name__ == '__main__':
    main()
