#!/usr/bin/env bash
# tools/models/build_model.sh HEGUI [SHARED] — rebuilds the default classifier (make model): the data from
# ../shared/data (build_data.py), the model trained, calibrated and measured (train_model.py), written to
# data/models/hegui-risk.hgcls with its measured figures in data/models/PROVENANCE.md. Without the shared data it
# says so and changes nothing. Deterministic: the same data and hegui give the same bytes.
set -euo pipefail
hegui=${1:?usage: build_model.sh HEGUI [SHARED]}
top=$(cd "$(dirname "$0")/../.." && pwd)
shared=${2:-${HG_SHARED:-$top/../shared}}
if [ ! -d "$shared/data/offensive/cold" ]; then
  echo "make model: $shared/data not found (the labeled sets are not in the repository; set HG_SHARED to the" \
       "shared directory); the committed model is unchanged" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$top/tools/models/build_data.py" "$shared/data" "$work"
HG_SHARED_DATA="$shared/data" python3 "$top/tools/models/train_model.py" "$hegui" "$work" "$work/model.hgcls" \
  "$top/data/models/PROVENANCE.md"
mv "$work/model.hgcls" "$top/data/models/hegui-risk.hgcls"
echo "make model: data/models/hegui-risk.hgcls ($(stat -c %s "$top/data/models/hegui-risk.hgcls") bytes) and" \
     "data/models/PROVENANCE.md written; rebuild (make) to embed it"
