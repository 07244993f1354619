#!/usr/bin/env bash
# Writes a small seed corpus for ctnn_fuzz_cifar into DIR: valid CIFAR-10 and CIFAR-100 files
# (first byte = which parser, see fuzz_cifar.cpp) and label-name lists. Seeds let libFuzzer start
# from inputs that pass the size checks, so it reaches the label checks and the copy at once.
set -euo pipefail
dir=${1:?usage: make_seeds.sh DIR}
mkdir -p "$dir"
pixels() { head -c 3072 /dev/zero | tr '\0' '\x80'; }
{ printf '\x00'; for l in 1 9; do printf "\\x0$l"; pixels; done; } >"$dir/cifar10_two_records"
{ printf '\x01'; printf '\x13\x63'; pixels; } >"$dir/cifar100_one_record"
{ printf '\x02'; printf '%s\n' airplane automobile bird cat deer dog frog horse ship truck; echo; } >"$dir/names10"
{ printf '\x03'; for i in $(seq 100); do echo "class$i"; done; } >"$dir/names100"
