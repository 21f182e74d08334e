#!/usr/bin/env bash
# examples/tour.sh HEGUI — a short tour of what hegui does today, on the starter lexicon built into the binary.
# Run by `make run` (the first command in README.md).
set -u
H=${1:-build/hegui}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; printf '(exit %d)\n' $?; }

step "1. Clean text passes (exit 0, like grep)"
show "$H" check "今天天气很好，我们去公园散步。"

step "2. A prohibited term is found, with its TC260-003 risk code, action, mode and exact byte span"
show "$H" check "网上有人在卖冰毒"

step "3. Disguises are seen through: inserted symbols, full width, Traditional script, repeats, pinyin"
show "$H" check "法 * 轮 _ 功"
show "$H" check "ＣＯＣＡＩＮＥ"
show "$H" check "支持臺獨"
show "$H" check "法法法轮轮功"
show "$H" check "falun gong"

step "4. Allowlist phrases neutralise what they contain: the fish is fine, the drug is not"
show "$H" check "大麻哈鱼很好吃，但大麻不行"

step "5. Latin entries match whole words only"
show "$H" check "Cocaine is illegal; recocainated is not a word"

step "6. JSON for programs"
show "$H" check --json "卖冰毒"

step "7. Invalid UTF-8 is reported with its byte offset (exit 2), never crashes"
printf 'good \xff bad' >"$T/bad.txt"
show "$H" check --file "$T/bad.txt"

step "8. Lexicons compile into a checked, mappable image; stats against the TC260-003 minimums"
printf '# my lexicon\n违禁词\tA1h\t4\tblock\tfolded,noise\n' >"$T/my.tsv"
show "$H" lexicon compile "$T/my.tsv" "$T/my.img"
show "$H" check --lexicon "$T/my.img" "这是一个违-禁-词"
"$H" lexicon stats "$T/my.img" | tail -5

step "9. Personal information: Chinese detectors with their check characters, in any width"
show "$H" pii scan "身份证11010519491231002X，手机＋８６ １３８－１２３４－５６７８，卡号6222 0212 3456 7894"
show "$H" pii scan "身份证110105194912310021（校验位不对，不是身份证号）"
show "$H" pii redact --operator placeholder "请打13812345678，或者13812345678，邮箱zhang.san@example.com"
show "$H" pii redact --keep-first 3 --keep-last 4 "手机138-1234-5678"

printf '\nNext: `make test` runs every test; `make bench` compares the matcher with Hyperscan (needs ../shared/data).\n'
