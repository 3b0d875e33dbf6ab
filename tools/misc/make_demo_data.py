# Copyright (c) sak_mm contributors. All rights reserved.
"""Write the procedural NYUD-v2-format demo dataset."""
import argparse

from sak_mm.datasets import make_demo_nyud


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out_dir', nargs='?', default='data/nyud_demo')
    parser.add_argument('--num-train', type=int, default=48)
    parser.add_argument('--num-val', type=int, default=12)
    parser.add_argument('--height', type=int, default=120)
    parser.add_argument('--width', type=int, default=160)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    make_demo_nyud(args.out_dir, args.num_train, args.num_val,
                   (args.height, args.width), args.seed)
    print(f'wrote {args.num_train} train + {args.num_val} val rooms to '
          f'{args.out_dir}')


if __name__ == '__main__':
    main()
