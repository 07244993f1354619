#!/usr/bin/env bash
# fuzz/json_seeds.sh DIR: a few JSON texts for ctnn_fuzz_json to start from: every kind of
# value, escapes, surrogate pairs, UTF-8, numbers at the grammar's edges, a safetensors header.
set -euo pipefail
dir=${1:?usage: json_seeds.sh DIR}
mkdir -p "$dir"
i=0
seed() { printf '%s' "$1" > "$dir/seed-$i.json"; i=$((i + 1)); }
seed '{"a":[1,-2.5e+3,0,true,false,null],"b":{"c":"d"}}'
seed '[]'
seed '{}'
seed '"\u00e9\ud83d\ude00\n\t\\\"\/"'
seed '"héllo wörld ✓ 😀"'
seed '-0.0e-0'
seed '12345678901234567890123'
seed '1E400'
seed ' [ [ [ ] ] , { "" : "" } ] '
seed '{"a":1,"a":2}'
seed '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}'
