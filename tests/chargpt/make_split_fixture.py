#!/usr/bin/python3
"""Writes split_fixture.txt: what examples/chargpt/torch_reference.py makes of
tapegrad::permutation and of the word lists, for tests/chargpt to compare with
the C++ side (examples/chargpt/words.cpp). Rerun from the repository root
after changing either side's rule, with Debian's word list installed:

    /usr/bin/python3 tests/chargpt/make_split_fixture.py

One line per fact: a key, then its values separated by spaces."""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "examples", "chargpt"))
import torch_reference as ref  # noqa: E402

TINY_TEST_WORDS = 3


def line(key, values):
    return " ".join([key] + [str(v) for v in values]) + "\n"


def main():
    out = ["# Written by tests/chargpt/make_split_fixture.py from examples/chargpt/torch_reference.py.\n"]
    # The generator itself, on seeds that exercise 64-bit wrap-around.
    for n, seed in [(10, 7), (5, 0), (7, 2**64 - 1), (1000, ref.TEST_SPLIT_SEED)]:
        out.append(line(f"permutation {n} {seed}", ref.permutation(n, seed)[:20]))
    tiny = ref.read_words(os.path.join(here, "tiny_words.txt"))
    out.append(line("tiny_words", tiny))
    out.append(line(f"tiny_test_indices {TINY_TEST_WORDS}", ref.permutation(len(tiny), ref.TEST_SPLIT_SEED)[:20]))
    train, test = ref.split(tiny, TINY_TEST_WORDS)
    out.append(line("tiny_test_words", test))
    out.append(line("tiny_train_words", train))
    real = ref.read_words(ref.WORDS)
    out.append(line("real_count", [len(real)]))
    out.append(line("real_longest", [max(map(len, real))]))
    out.append(line("real_test_indices", ref.permutation(len(real), ref.TEST_SPLIT_SEED)[:20]))
    train, test = ref.split(real)
    out.append(line("real_test_words", test[:20]))
    out.append(line("real_train_words", train[:20]))
    with open(os.path.join(here, "split_fixture.txt"), "w") as f:
        f.writelines(out)


if __name__ == "__main__":
    main()
