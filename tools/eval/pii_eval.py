#!/usr/bin/env python3
"""pii_eval.py — precision and recall of `hegui pii scan`, per type, on three sets.

1. generated: N Chinese and English sentences (fixed seed) with 0-2 inserted values each: valid identifiers with
   correct check characters, values that must NOT be found (wrong check character, wrong Luhn digit) and decoys
   (long order numbers with an ID inside, dates, money, 11-digit numbers starting with 12). Ground truth is the
   byte span of every inserted value.
2. presidio: the Presidio synthetic English set (shared/data/pii/presidio-synth-en), labels mapped to hegui types
   where they correspond.
3. weibo: Weibo NER (shared/data/pii/weibo-ner-zh), PER.NAM spans against the experimental person_name detector.

Python 3 standard library only. Exit 0 (also when a target is missed or shared data is absent: that part then
prints "skipped: ..."); exit 2 when hegui itself fails. See README.md next to this file for the exact rules.
"""
import argparse
import bisect
import collections
import datetime
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TODAY = "20261129"
TARGET = 0.99
CHECKSUMMED = ["cn_id", "bank_card", "payment_card", "uscc", "hk_id", "tw_id"]
REPORTED = CHECKSUMMED + ["mobile", "landline", "email", "ipv4", "license_plate", "secret"]


class HeguiError(Exception):
    pass


# ---- hegui -----------------------------------------------------------------------------------------------------

class Hegui:
    def __init__(self, exe):
        self.exe = exe

    def scan(self, path, extra=()):
        """Runs `hegui pii scan --json --today TODAY [extra] --file path`; returns the hits."""
        cmd = [self.exe, "pii", "scan", "--json", "--today", TODAY] + list(extra) + ["--file", path]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode not in (0, 1):
            raise HeguiError("%s exited %d: %s" % (" ".join(cmd), r.returncode,
                                                    r.stderr.decode("utf-8", "replace").strip()))
        try:
            out = json.loads(r.stdout.decode("utf-8"))
        except ValueError as e:
            raise HeguiError("%s printed no JSON (%s): %r" % (" ".join(cmd), e, r.stdout[:200]))
        if out.get("count") != len(out.get("hits", [])):
            raise HeguiError("count %r does not match %d hits" % (out.get("count"), len(out.get("hits", []))))
        if (r.returncode == 1) != bool(out["hits"]):
            raise HeguiError("exit code %d but %d hits" % (r.returncode, len(out["hits"])))
        return out["hits"]


def scan_documents(hg, workdir, name, texts, extra=()):
    """Writes the texts to one file separated by "\\n" and scans it once. Returns, per text, its hits as
    (type, start, end, confidence) with byte offsets relative to the text, plus the number of hits that did not
    fall inside one text."""
    path = os.path.join(workdir, name)
    starts, pos = [], 0
    with open(path, "wb") as f:
        for t in texts:
            b = t.encode("utf-8")
            starts.append(pos)
            f.write(b + b"\n")
            pos += len(b) + 1
    ends = [s + len(t.encode("utf-8")) for s, t in zip(starts, texts)]
    per = [[] for _ in texts]
    stray = 0
    for h in hg.scan(path, extra):
        k = bisect.bisect_right(starts, h["start"]) - 1
        if k < 0 or h["end"] > ends[k]:
            stray += 1
            continue
        per[k].append((h["type"], h["start"] - starts[k], h["end"] - starts[k], float(h["confidence"])))
    return per, stray


# ---- check characters ------------------------------------------------------------------------------------------

PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53,
             54, 61, 62, 63, 64, 65]  # the 31 mainland provincial-level codes of GB/T 2260


def cn_id_check(body17):
    """GB 11643 MOD 11-2: weights 2^(17-i) mod 11; check = (12 - sum % 11) % 11, 10 written X."""
    w = [pow(2, 17 - i, 11) for i in range(17)]
    s = sum(int(c) * wi for c, wi in zip(body17, w))
    v = (12 - s % 11) % 11
    return "X" if v == 10 else str(v)


def luhn_check_digit(body):
    """The digit that makes body + digit pass Luhn."""
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check(body17):
    s = sum(USCC_CHARS.index(c) * w for c, w in zip(body17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - s % 31) % 31]


def org_code_check(body8):
    """GB 11714 organization code check character: weights 3 7 9 10 5 8 4 2, letters A=10..Z=35,
    c = 11 - sum % 11, 10 -> X, 11 -> 0."""
    w = [3, 7, 9, 10, 5, 8, 4, 2]
    s = sum((int(c) if c.isdigit() else ord(c) - 55) * wi for c, wi in zip(body8, w))
    c = 11 - s % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def hk_check(prefix, digits6):
    """HKID: with one letter a blank worth 36 stands first; weights 9..2 over 8 positions, A=10..Z=35;
    check = (11 - sum % 11) % 11, 10 written A."""
    vals = ([36] if len(prefix) == 1 else []) + [ord(c) - 55 for c in prefix] + [int(c) for c in digits6]
    s = sum(v * w for v, w in zip(vals, range(9, 1, -1)))
    c = (11 - s % 11) % 11
    return "A" if c == 10 else str(c)


TW_LETTERS = {c: v for c, v in zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36))}


def tw_check(letter, digits8):
    """Taiwan ID: the letter's two-digit value n gives n//10 + 9*(n%10); digits weighted 8..1; the check digit
    makes the total a multiple of 10."""
    n = TW_LETTERS[letter]
    s = n // 10 + 9 * (n % 10) + sum(int(c) * w for c, w in zip(digits8, range(8, 0, -1)))
    return str((10 - s % 10) % 10)


# ---- value generators ------------------------------------------------------------------------------------------
# Each returns (text, form). Kinds and their weights are in KINDS below.

def digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def birth_date(rng, y0, y1):
    a = datetime.date(y0, 1, 1).toordinal()
    b = datetime.date(y1, 12, 31).toordinal()
    return datetime.date.fromordinal(rng.randint(a, b))


def id18_body(rng, digit_check_only=False):
    while True:
        d = birth_date(rng, 1950, 2010)
        body = "%02d%s%04d%02d%02d%s" % (rng.choice(PROVINCES), digits(rng, 4), d.year, d.month, d.day,
                                         digits(rng, 3))
        chk = cn_id_check(body)
        if not (digit_check_only and chk == "X"):
            return body, chk


def id18_forms(rng, s):
    r = rng.random()
    if r < 0.10:
        return s[:6] + " " + s[6:14] + " " + s[14:], "spaced 6-8-4"
    if r < 0.15:
        return fullwidth(s), "fullwidth"
    if s.endswith("X") and rng.random() < 0.5:
        return s[:-1] + "x", "lower-case x"
    return s, "plain"


def gen_cn_id18(rng):
    body, chk = id18_body(rng)
    return id18_forms(rng, body + chk)


def gen_bad_id18(rng):
    body, chk = id18_body(rng)
    wrong = rng.choice([c for c in "0123456789X" if c != chk])
    return id18_forms(rng, body + wrong)


def gen_cn_id15(rng):
    d = birth_date(rng, 1950, 1999)
    return "%02d%s%02d%02d%02d%s" % (rng.choice(PROVINCES), digits(rng, 4), d.year % 100, d.month, d.day,
                                     digits(rng, 3)), "legacy 15"


MOBILE_PREFIX_FORMS = [("+86 ", "+86"), ("+86", "+86"), ("+86-", "+86"), ("0086 ", "0086"), ("0086", "0086")]


def gen_mobile(rng):
    m = "1" + rng.choice("3456789") + digits(rng, 9)
    r = rng.random()
    if r < 0.35:
        return m, "plain"
    if r < 0.50:
        return "%s %s %s" % (m[:3], m[3:7], m[7:]), "3-4-4 spaces"
    if r < 0.65:
        return "%s-%s-%s" % (m[:3], m[3:7], m[7:]), "3-4-4 dashes"
    if r < 0.85:
        p, form = rng.choice(MOBILE_PREFIX_FORMS)
        return p + m, form
    return fullwidth(m), "fullwidth"


AREA3 = ["010", "020", "021", "022", "023", "024", "025", "027", "028", "029"]
AREA4 = ["0755", "0571", "0512", "0731", "0871", "0591", "0532", "0769", "0311", "0371", "0551", "0898"]


def gen_landline(rng):
    area = rng.choice(AREA3 + AREA4)
    n = 8 if len(area) == 3 or rng.random() < 0.7 else 7
    sub = rng.choice("2345678") + digits(rng, n - 1)
    r = rng.random()
    if r < 0.70:
        return area + "-" + sub, "area-number"
    if r < 0.80:
        return area + " " + sub, "area number (space)"
    if r < 0.90:
        return area + sub, "plain (context only)"
    return "(" + area + ")" + sub, "(area)number"


def card_forms(rng, num):
    r = rng.random()
    if r < 0.6:
        return num, "plain %d" % len(num)
    if r < 0.9:
        return " ".join(num[i:i + 4] for i in range(0, len(num), 4)), "4-4-4-4 spaced %d" % len(num)
    return "-".join(num[i:i + 4] for i in range(0, len(num), 4)), "4-4-4-4 dashed %d" % len(num)


def unionpay_number(rng):
    n = rng.choice([16, 19])
    body = "62" + digits(rng, n - 3)
    return body + luhn_check_digit(body)


def gen_unionpay(rng):
    return card_forms(rng, unionpay_number(rng))


def gen_bad_unionpay(rng):
    num = unionpay_number(rng)
    num = num[:-1] + rng.choice([c for c in "0123456789" if c != num[-1]])
    return card_forms(rng, num)


def visa_mc_number(rng):
    if rng.random() < 0.5:
        body = "4" + digits(rng, 14)
    elif rng.random() < 0.8:
        body = str(rng.randint(51, 55)) + digits(rng, 13)
    else:
        body = str(rng.randint(2221, 2720)) + digits(rng, 11)
    return body + luhn_check_digit(body)


def gen_visa_mc(rng):
    text, form = card_forms(rng, visa_mc_number(rng))
    return text, ("visa " if text[0] == "4" else "mastercard ") + form


def gen_bad_visa_mc(rng):
    num = visa_mc_number(rng)
    num = num[:-1] + rng.choice([c for c in "0123456789" if c != num[-1]])
    return card_forms(rng, num)


def uscc_body(rng):
    """Registration authority (1 / 5 / 9 / Y), organization type, admin code (province + 4 digits), a 9-character
    GB 11714 organization code (half old-style: 8 digits; half new-style: MA + 6 characters of the USCC alphabet;
    both with their own check character), 17 characters in all."""
    auth = rng.choice("159Y")
    kind = "1" if auth == "Y" else rng.choice("123")
    admin = "%02d%s" % (rng.choice(PROVINCES), digits(rng, 4))
    if rng.random() < 0.5:
        org8 = digits(rng, 8)
    else:
        org8 = "MA" + "".join(rng.choice(USCC_CHARS) for _ in range(6))
    return auth + kind + admin + org8 + org_code_check(org8)


def uscc_form(code):
    return "all digits" if code.isdigit() else "with letters"


def gen_uscc(rng):
    body = uscc_body(rng)
    code = body + uscc_check(body)
    return code, uscc_form(code)


def gen_bad_uscc(rng):
    body = uscc_body(rng)
    chk = uscc_check(body)
    code = body + rng.choice([c for c in USCC_CHARS if c != chk])
    return code, uscc_form(code)


HK_LETTERS = "ABCDEGHKMNPRVYZ"  # letters in use as HKID prefixes


def hk_parts(rng):
    prefix = rng.choice(HK_LETTERS) if rng.random() < 0.85 else rng.choice(["WX", "XA", "XB", "XC"])
    d6 = digits(rng, 6)
    return prefix, d6, hk_check(prefix, d6)


def hk_forms(rng, prefix, d6, chk):
    r = rng.random()
    if r < 0.6:
        return "%s%s(%s)" % (prefix, d6, chk), "X123456(C)" if len(prefix) == 1 else "XY123456(C)"
    if r < 0.8:
        return "%s%s（%s）" % (prefix, d6, chk), "fullwidth brackets"
    return prefix + d6 + chk, "no brackets"


def gen_hk_id(rng):
    return hk_forms(rng, *hk_parts(rng))


def gen_bad_hk_id(rng):
    prefix, d6, chk = hk_parts(rng)
    return hk_forms(rng, prefix, d6, rng.choice([c for c in "0123456789A" if c != chk]))


def tw_parts(rng):
    letter = rng.choice("ABCDEFGHJKLMNPQTUVXZWIO")
    d8 = rng.choice("12") + digits(rng, 7)
    return letter, d8, tw_check(letter, d8)


def gen_tw_id(rng):
    letter, d8, chk = tw_parts(rng)
    return letter + d8 + chk, "plain"


def gen_bad_tw_id(rng):
    letter, d8, chk = tw_parts(rng)
    return letter + d8 + rng.choice([c for c in "0123456789" if c != chk]), "plain"


PINYIN = ["zhang", "wang", "li", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma", "zhu",
          "hu", "guo", "lin", "he", "gao", "luo"]
GIVEN = ["wei", "fang", "na", "min", "jing", "lei", "qiang", "jun", "yang", "yong", "yan", "jie", "tao", "ming",
         "chao", "xiaoming", "hong", "xia", "ping", "gang"]
DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com", "foxmail.com", "aliyun.com",
           "example.com.cn", "corp.example.cn", "pku.edu.cn"]


def gen_email(rng):
    r = rng.random()
    if r < 0.2:
        local, form = str(rng.randint(10000, 99999999999)), "QQ number"
    elif r < 0.3:
        local, form = "1" + rng.choice("3456789") + digits(rng, 9), "mobile number local part"
    else:
        sep = rng.choice(["", ".", "_"])
        local = rng.choice(PINYIN) + sep + rng.choice(GIVEN)
        if rng.random() < 0.4:
            local += str(rng.randint(1, 9999))
        form = "pinyin"
    return local + "@" + rng.choice(DOMAINS), form


def gen_ipv4(rng):
    r = rng.random()
    if r < 0.3:
        return "192.168.%d.%d" % (rng.randint(0, 255), rng.randint(1, 254)), "private 192.168"
    if r < 0.45:
        return "10.%d.%d.%d" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)), "private 10/8"
    return "%d.%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255),
                            rng.randint(1, 254)), "public"


PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O


def gen_plate(rng):
    prov = rng.choice(PLATE_PROVINCES)
    city = rng.choice(PLATE_LETTERS[:12])
    r = rng.random()
    if r < 0.65:
        body = "".join(rng.choice(PLATE_LETTERS) if rng.random() < 0.2 else rng.choice("0123456789")
                       for _ in range(5))
        form = "conventional"
    elif r < 0.85:
        body = rng.choice("DF") + rng.choice(PLATE_LETTERS + "0123456789") + digits(rng, 4)
        form = "new energy D/F first"
    else:
        body = digits(rng, 5) + rng.choice("DF")
        form = "new energy D/F last"
    sep = ""
    if form == "conventional" and rng.random() < 0.2:
        sep, form = "·", "conventional with ·"
    return prov + city + sep + body, form


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def gen_secret(rng):
    r = rng.random()
    if r < 0.3:
        return "sk-" + "".join(rng.choice(ALNUM) for _ in range(48)), "sk- (48)"
    if r < 0.45:
        return "sk-proj-" + "".join(rng.choice(ALNUM + "_-") for _ in range(rng.randint(40, 80))) + \
            rng.choice(ALNUM), "sk-proj-"
    if r < 0.7:
        return "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)), "AKIA"
    return "ghp_" + "".join(rng.choice(ALNUM) for _ in range(36)), "ghp_"


def gen_decoy_long(rng):
    body, chk = id18_body(rng, digit_check_only=True)
    pre = rng.randint(2, 5)
    return digits(rng, pre) + body + chk + digits(rng, 25 - 18 - pre), "25 digits, valid ID inside"


def gen_decoy_date(rng):
    d = birth_date(rng, 1990, 2026)
    return rng.choice(["%d年%d月%d日" % (d.year, d.month, d.day), "%d-%02d-%02d" % (d.year, d.month, d.day),
                       "%d/%02d/%02d" % (d.year, d.month, d.day), "%d%02d%02d" % (d.year, d.month, d.day),
                       "%d.%02d.%02d" % (d.year, d.month, d.day),
                       "%d-%02d-%02d %02d:%02d" % (d.year, d.month, d.day, rng.randint(0, 23),
                                                   rng.randint(0, 59))]), "date"


def gen_decoy_money(rng):
    v = rng.randint(1, 99999999)
    return rng.choice(["¥{:,}.{:02d}".format(v, rng.randint(0, 99)), "￥%d" % v, "%d.%02d元" % (v, rng.randint(0, 99)),
                       "{:,}元".format(v), "RMB {:,}".format(v)]), "money"


def gen_decoy_phone12(rng):
    return "12" + digits(rng, 9), "11 digits starting 12"


# kind -> (hegui type it must be found as, or None for a value that must not be found; the types it must not be
# found as; template category; weight; generator)
ALL = "*"
KINDS = {
    "cn_id18": ("cn_id", (), "id", 10, gen_cn_id18),
    "cn_id15": ("cn_id", (), "id", 3, gen_cn_id15),
    "bad_id18": (None, ("cn_id",), "id", 5, gen_bad_id18),
    "mobile": ("mobile", (), "phone", 10, gen_mobile),
    "landline": ("landline", (), "landline", 5, gen_landline),
    "unionpay": ("bank_card", (), "card", 8, gen_unionpay),
    "bad_unionpay": (None, ("bank_card", "payment_card"), "card", 4, gen_bad_unionpay),
    "visa_mc": ("payment_card", (), "card", 6, gen_visa_mc),
    "bad_visa_mc": (None, ("bank_card", "payment_card"), "card", 2, gen_bad_visa_mc),
    "uscc": ("uscc", (), "uscc", 8, gen_uscc),
    "bad_uscc": (None, ("uscc",), "uscc", 4, gen_bad_uscc),
    "hk_id": ("hk_id", (), "hk", 5, gen_hk_id),
    "bad_hk_id": (None, ("hk_id",), "hk", 2, gen_bad_hk_id),
    "tw_id": ("tw_id", (), "tw", 5, gen_tw_id),
    "bad_tw_id": (None, ("tw_id",), "tw", 2, gen_bad_tw_id),
    "email": ("email", (), "email", 5, gen_email),
    "ipv4": ("ipv4", (), "ip", 4, gen_ipv4),
    "plate": ("license_plate", (), "plate", 5, gen_plate),
    "secret": ("secret", (), "secret", 4, gen_secret),
    "decoy_long": (None, ALL, "order", 4, gen_decoy_long),
    "decoy_date": (None, ALL, "date", 3, gen_decoy_date),
    "decoy_money": (None, ALL, "money", 3, gen_decoy_money),
    "decoy_phone12": (None, ALL, "phone", 3, gen_decoy_phone12),
}

# Templates: every one has text before the value, so two clauses never put two values side by side.
TEMPLATES = {
    "id": (["我的身份证号是{}，请核实。", "身份证号码：{}", "请提供身份证{}的复印件。", "申请人公民身份号码{}，住址不详。",
            "证件号{}已登记。"],
           ["My ID number is {}.", "Chinese resident ID: {}", "Please verify ID card {} before check-in."]),
    "phone": (["联系电话：{}", "有事请打我手机{}。", "他的电话是{}，晚上再打。", "请致电{}咨询。", "手机号码{}已停机"],
              ["Call me at {}.", "Phone: {}", "Mobile {} is switched off."]),
    "landline": (["联系电话：{}", "座机：{}", "办公室电话{}（工作日）", "传真号码为{}。"],
                 ["Phone: {}", "You can reach our office by phone at {} during work hours.", "Fax: {}"]),
    "card": (["请把钱转到卡号{}", "银行卡号：{}，户名张三。", "我的储蓄卡{}丢了。", "信用卡号{}已冻结。"],
             ["Card number: {}", "Please charge my card {} for the order.", "Pay with credit card {} today."]),
    "uscc": (["公司统一社会信用代码为{}", "营业执照号：{}。", "纳税人识别号（税号）{}，开票请填写。", "该企业信用代码{}已通过年检。"],
             ["Unified social credit code: {}", "Company USCC {} is on file."]),
    "hk": (["香港身份证号码{}", "持香港身份证：{}的旅客请到三号窗口。", "他的身份证是{}，香港签发。"],
           ["HKID: {}", "Hong Kong identity card {} was scanned."]),
    "tw": (["台湾身分证字号{}", "台湾居民身份证{}已核验。", "身分证：{}"],
           ["Taiwan national ID {}.", "Taiwan ID card number: {}"]),
    "email": (["请发邮件到{}，谢谢。", "邮箱：{}", "联系人邮箱{}（工作日回复）"],
              ["Send the report to {}.", "Email: {}"]),
    "ip": (["服务器地址是{}，端口8080。", "登录IP为{}的设备已下线", "攻击来源：{}"],
           ["Connection from {} was blocked.", "Server IP: {}"]),
    "plate": (["车牌号{}的车辆", "违章车辆：{}，请车主尽快处理。", "一辆车牌为{}的白色轿车"],
              ["The car with plate {} was towed.", "License plate: {}"]),
    "secret": (["API密钥：{}", "不要把{}提交到仓库。", "令牌{}已泄露"],
               ["export OPENAI_API_KEY={}", "AWS key {} leaked in the logs."]),
    "order": (["订单号{}已发货。", "流水号：{}", "快递单号{}，请查收。"], ["Order {} has shipped.", "Tracking number: {}"]),
    "date": (["会议定于{}召开。", "出生日期：{}", "截止时间{}。"], ["The meeting is on {}.", "Date: {}"]),
    "money": (["合计{}。", "本月工资{}，已到账。", "退款金额：{}"], ["Total: {}", "The refund of {} was paid."]),
}
GENERIC = (["备注：{}", "见附件，内容为{}。", "信息如下：{}"], ["Note: {}", "See below: {}"])
GENERIC_SHARE = 0.1  # share of values put in a template without a context word (not for forms that need one)
NEUTRAL = ["今天天气不错，我们下午去公园散步吧。", "会议纪要已经上传到共享盘，请大家查阅。", "这款手机的续航比上一代提升了20%。",
           "请在3个工作日内完成审批流程。", "我们在第5会议室讨论了第二季度的预算。", "The weather is nice today.",
           "Please review the attached document before Friday.", "他说明天上午10点到。"]


def make_sentence(rng):
    """Returns (text, values) where each value is a dict with kind, type, forbid, form, start, end (byte offsets)."""
    k = rng.choices([0, 1, 2], weights=[2, 5, 3])[0]
    if k == 0:
        return rng.choice(NEUTRAL), []
    names = list(KINDS)
    weights = [KINDS[n][3] for n in names]
    text, values = "", []
    prev_lang = None
    for _ in range(k):
        kind = rng.choices(names, weights=weights)[0]
        typ, forbid, cat, _, gen = KINDS[kind]
        value, form = gen(rng)
        zh, en = TEMPLATES[cat]
        lang = "zh" if rng.random() < 0.7 else "en"
        pool = GENERIC if rng.random() < GENERIC_SHARE and "context" not in form else (zh, en)
        tmpl = rng.choice(pool[0] if lang == "zh" else pool[1])
        if prev_lang is not None:
            text += "；" if prev_lang == "zh" and lang == "zh" else " "
        before, after = tmpl.split("{}")
        start = len((text + before).encode("utf-8"))
        end = start + len(value.encode("utf-8"))
        text += before + value + after
        values.append({"kind": kind, "type": typ, "forbid": forbid, "form": form, "start": start, "end": end,
                       "value": value})
        prev_lang = lang
    return text, values


def generate(n, seed):
    rng = random.Random(seed)
    return [make_sentence(rng) for _ in range(n)]


# ---- scoring ---------------------------------------------------------------------------------------------------

def overlaps(a0, a1, b0, b1):
    return a0 < b1 and b0 < a1


def match_doc(positives, hits, row_of_type):
    """One-to-one matching inside one text. positives: [(row, start, end)]; hits: [(type, start, end, conf)].
    A hit can match a positive whose row is the hit type's row: exact spans first, then any overlap.
    Returns (per positive: ("exact" | "overlap" | None, hit index), per hit: positive index or None)."""
    pos_match = [(None, None)] * len(positives)
    hit_match = [None] * len(hits)
    for mode in ("exact", "overlap"):
        for pi, (row, s, e) in enumerate(positives):
            if pos_match[pi][0]:
                continue
            for hi, (t, hs, he, _) in enumerate(hits):
                if hit_match[hi] is not None or row_of_type.get(t) != row:
                    continue
                if (mode == "exact" and (hs, he) == (s, e)) or (mode == "overlap" and overlaps(hs, he, s, e)):
                    pos_match[pi] = (mode, hi)
                    hit_match[hi] = pi
                    break
    return pos_match, hit_match


def new_row():
    return {"positives": 0, "exact": 0, "overlap": 0, "fn": 0, "hits": 0, "fp": 0}


def finish_row(r):
    tp = r["exact"] + r["overlap"]

    def ratio(a, b):
        return a / b if b else None
    r["precision"] = ratio(tp, r["hits"])
    r["recall"] = ratio(tp, r["positives"])
    r["precision_exact"] = ratio(r["exact"], r["hits"])
    r["recall_exact"] = ratio(r["exact"], r["positives"])
    return r


def fmt(x):
    return "-" if x is None else "%.4f" % x


def print_rows(rows, order, targets=()):
    hdr = "%-16s %6s %6s %6s %5s %6s %5s %8s %8s %8s %8s  %s" % (
        "type", "truth", "exact", "overl", "FN", "hits", "FP", "P", "R", "P exact", "R exact", "target")
    print(hdr)
    print("-" * len(hdr))
    tot = new_row()
    for name in order:
        r = rows[name]
        for k in ("positives", "exact", "overlap", "fn", "hits", "fp"):
            tot[k] += r[k]
        note = ""
        if name in targets:
            ok = all(v is not None and v >= TARGET for v in (r["precision"], r["recall"]))
            ok_exact = all(v is not None and v >= TARGET for v in (r["precision_exact"], r["recall_exact"]))
            note = ">=%.2f %s" % (TARGET, "met" if ok and ok_exact else "met (overlap only)" if ok else "MISSED")
        print("%-16s %6d %6d %6d %5d %6d %5d %8s %8s %8s %8s  %s" % (
            name, r["positives"], r["exact"], r["overlap"], r["fn"], r["hits"], r["fp"], fmt(r["precision"]),
            fmt(r["recall"]), fmt(r["precision_exact"]), fmt(r["recall_exact"]), note))
    finish_row(tot)
    print("%-16s %6d %6d %6d %5d %6d %5d %8s %8s %8s %8s" % (
        "overall", tot["positives"], tot["exact"], tot["overlap"], tot["fn"], tot["hits"], tot["fp"],
        fmt(tot["precision"]), fmt(tot["recall"]), fmt(tot["precision_exact"]), fmt(tot["recall_exact"])))
    return tot


def show_hits(text, hits):
    b = text.encode("utf-8")
    return ", ".join("%s %r [%d,%d) %.2f" % (t, b[s:e].decode("utf-8", "replace"), s, e, c)
                     for t, s, e, c in hits) or "nothing"


# ---- part 1: generated Chinese data ----------------------------------------------------------------------------

def part_generated(hg, workdir, n, seed, n_examples):
    data = generate(n, seed)
    texts = [t for t, _ in data]
    per, stray = scan_documents(hg, workdir, "generated.txt", texts)
    types_seen = set(REPORTED)
    for hits in per:
        types_seen.update(h[0] for h in hits)
    rows = {t: new_row() for t in types_seen}
    row_of_type = {t: t for t in types_seen}
    forms = collections.OrderedDict()
    negs = collections.OrderedDict()
    failures = collections.defaultdict(list)  # type -> [{kind: fn|fp|overlap, ...}]
    fp_sources = collections.defaultdict(collections.Counter)
    for (text, values), hits in zip(data, per):
        pos = [(v["type"], v["start"], v["end"]) for v in values if v["type"]]
        pvals = [v for v in values if v["type"]]
        pm, hm = match_doc(pos, hits, row_of_type)
        for v, (mode, hi) in zip(pvals, pm):
            r = rows[v["type"]]
            r["positives"] += 1
            key = (v["type"], v["form"])
            f = forms.setdefault(key, {"n": 0, "exact": 0, "overlap": 0, "missed": 0})
            f["n"] += 1
            if mode == "exact":
                r["exact"] += 1
                f["exact"] += 1
            elif mode == "overlap":
                r["overlap"] += 1
                f["overlap"] += 1
                failures[v["type"]].append({"what": "overlap only", "sentence": text, "expected": v["value"],
                                            "form": v["form"], "got": show_hits(text, [hits[hi]])})
            else:
                r["fn"] += 1
                f["missed"] += 1
                near = [h for h in hits if overlaps(h[1], h[2], v["start"], v["end"])]
                failures[v["type"]].append({"what": "missed", "sentence": text, "expected": v["value"],
                                            "form": v["form"], "got": show_hits(text, near)})
        for hi, h in enumerate(hits):
            r = rows[h[0]]
            r["hits"] += 1
            if hm[hi] is None:
                r["fp"] += 1
                src = "background text"
                for v in values:
                    if overlaps(h[1], h[2], v["start"], v["end"]):
                        src = ("decoy %s" % v["kind"]) if v["type"] is None else (
                            "a %s value" % v["type"] if v["type"] != h[0] else "a second hit on the %s value" % h[0])
                        break
                fp_sources[h[0]][src] += 1
                failures[h[0]].append({"what": "false positive (%s)" % src, "sentence": text,
                                       "expected": "; ".join("%s %r" % (v["type"] or "no " + "/".join(
                                           ["any type"] if v["forbid"] == ALL else v["forbid"]), v["value"])
                                           for v in values) or "nothing",
                                       "got": show_hits(text, [h])})
        for v in values:
            if v["type"]:
                continue
            g = negs.setdefault(v["kind"], {"n": 0, "forbidden_hit": 0, "any_hit": 0,
                                            "hit_types": collections.Counter()})
            g["n"] += 1
            on = [h for h in hits if overlaps(h[1], h[2], v["start"], v["end"])]
            if on:
                g["any_hit"] += 1
                g["hit_types"].update(h[0] for h in on)
            if any(v["forbid"] == ALL or h[0] in v["forbid"] for h in on):
                g["forbidden_hit"] += 1
    for r in rows.values():
        finish_row(r)
    order = REPORTED + sorted(t for t in types_seen if t not in REPORTED)

    print("== 1. generated sentences: %d (seed %s), %d values inserted, %d must-not-find values and decoys" % (
        n, seed, sum(r["positives"] for r in rows.values()), sum(g["n"] for g in negs.values())))
    print("   TP counts a hit of the same type matching the inserted span exactly (exact) or overlapping it (overl);")
    print("   P and R count both, P exact and R exact only exact spans.")
    if stray:
        print("   note: %d hits crossed a line break and were ignored" % stray)
    tot = print_rows(rows, order, CHECKSUMMED)
    print()
    print("Recall by form (values of each type, as written)")
    hdr = "%-14s %-28s %6s %6s %6s %6s %8s" % ("type", "form", "n", "exact", "overl", "missed", "recall")
    print(hdr)
    print("-" * len(hdr))
    for (t, form), f in sorted(forms.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        print("%-14s %-28s %6d %6d %6d %6d %8s" % (t, form, f["n"], f["exact"], f["overlap"], f["missed"],
                                                 fmt((f["exact"] + f["overlap"]) / f["n"])))
    print()
    print("Values that must not be found (wrong check character / Luhn digit) and decoys")
    hdr = "%-14s %-34s %6s %12s %9s  %s" % ("kind", "must not be found as", "n", "found as it", "any hit",
                                             "hit types")
    print(hdr)
    print("-" * len(hdr))
    for kind, g in sorted(negs.items(), key=lambda kv: list(KINDS).index(kv[0])):
        forbid = KINDS[kind][1]
        print("%-14s %-34s %6d %12d %9d  %s" % (kind, "any type" if forbid == ALL else ", ".join(forbid), g["n"],
                                              g["forbidden_hit"], g["any_hit"],
                                              ", ".join("%s %d" % kv for kv in g["hit_types"].most_common()) or "-"))
    if any(fp_sources.values()):
        print()
        print("Where the false positives are")
        for t in order:
            if fp_sources[t]:
                print("  %-14s %s" % (t, ", ".join("%s: %d" % kv for kv in fp_sources[t].most_common())))
    print_failures(failures, rows, order, n_examples)
    return {"sentences": n, "seed": seed, "rows": rows, "overall": tot,
            "forms": [{"type": t, "form": fm, **f} for (t, fm), f in forms.items()],
            "negatives": {k: dict(g, hit_types=dict(g["hit_types"])) for k, g in negs.items()},
            "fp_sources": {t: dict(c) for t, c in fp_sources.items() if c},
            "failures": failures}


def print_failures(failures, rows, order, n_examples):
    if n_examples <= 0:
        return
    shown = False
    for t in order:
        fs = failures.get(t)
        if not fs:
            continue
        if not shown:
            print()
            print("Failures (first %d per type; all of them in --json)" % n_examples)
            shown = True
        r = rows[t]
        print("  %s: %d missed, %d overlap only, %d false positives" % (
            t, r["fn"], r["overlap"], r["fp"]))
        by_what = collections.OrderedDict()
        for f in fs:
            by_what.setdefault(f["what"].split(" (")[0], []).append(f)
        for what, items in by_what.items():
            for f in items[:n_examples]:
                form = " [%s]" % f["form"] if f.get("form") else ""
                print("    %s%s: %s" % (f["what"], form, f["sentence"].replace("\n", "\\n")))
                print("        expected: %s" % f["expected"])
                print("        got:      %s" % f["got"])


# ---- part 2: Presidio synthetic English set ---------------------------------------------------------------------

PRESIDIO_FILE = "data/pii/presidio-synth-en/synth_dataset_v2.json"
# hegui row -> hegui types a hit may have to count for it
PRESIDIO_ROWS = collections.OrderedDict([
    ("email", ("email",)), ("ipv4", ("ipv4",)), ("ipv6", ("ipv6",)), ("card", ("payment_card", "bank_card"))])


def presidio_row(span):
    label, value = span["entity_type"], span["entity_value"]
    if label == "EMAIL_ADDRESS":
        return "email"
    if label == "IP_ADDRESS":
        return "ipv6" if ":" in value else "ipv4"
    if label == "CREDIT_CARD":
        return "card"
    return None


def card_scheme(d):
    """A rough scheme name from the leading digits and the length, for explaining misses."""
    p2, p4 = int(d[:2] or 0), int(d[:4] or 0)
    if d[:4] in ("1800", "2131") and len(d) == 15:
        return "JCB legacy 15-digit (1800/2131)"
    if 3528 <= p4 <= 3589:
        return "JCB 3528-3589"
    if d[:2] == "35":
        return "35xx outside the JCB range 3528-3589"
    if d[:2] in ("50", "56", "57", "58", "63", "67") or d[:4] == "0604":
        return "Maestro"
    if d[0] == "4":
        return "Visa"
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return "Mastercard"
    if p2 in (34, 37):
        return "Amex"
    if d[:2] == "62":
        return "UnionPay"
    if p2 in (30, 36, 38, 39):
        return "Diners"
    if d[:4] == "6011" or d[:2] == "65" or 644 <= int(d[:3] or 0) <= 649:
        return "Discover"
    return "unknown"


def card_note(value):
    d = "".join(c for c in value if c.isdigit())
    return "%d digits, Luhn %s, %s" % (len(d), "ok" if d and luhn_ok(d) else "BAD", card_scheme(d) if d else "-")


def part_presidio(hg, workdir, shared, n_examples):
    path = os.path.join(shared, PRESIDIO_FILE)
    if not os.path.isfile(path):
        print("== 2. presidio: skipped: %s not found" % path)
        return None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    texts = [d["full_text"] for d in data]
    per, stray = scan_documents(hg, workdir, "presidio.txt", texts)
    row_of_type = {t: r for r, ts in PRESIDIO_ROWS.items() for t in ts}
    rows = {r: new_row() for r in PRESIDIO_ROWS}
    labels = collections.Counter()
    unmapped = collections.Counter()
    phone = {"spans": 0, "found": 0, "examples": []}
    other = collections.defaultdict(list)  # hegui type without a row -> [(text, hit, label under it)]
    failures = collections.defaultdict(list)
    for d, hits in zip(data, per):
        text = d["full_text"]
        cum = [0]
        for ch in text:
            cum.append(cum[-1] + len(ch.encode("utf-8")))
        spans = []
        for s in d["spans"]:
            labels[s["entity_type"]] += 1
            spans.append((s["entity_type"], cum[s["start_position"]], cum[s["end_position"]], s["entity_value"]))
        pos = []
        pvals = []
        for sp, s in zip(spans, d["spans"]):
            row = presidio_row(s)
            if row:
                pos.append((row, sp[1], sp[2]))
                pvals.append(sp)
            elif sp[0] != "PHONE_NUMBER":
                unmapped[sp[0]] += 1
        pm, hm = match_doc(pos, hits, row_of_type)
        for (row, s, e), sp, (mode, hi) in zip(pos, pvals, pm):
            r = rows[row]
            r["positives"] += 1
            if mode == "exact":
                r["exact"] += 1
            elif mode == "overlap":
                r["overlap"] += 1
                failures[row].append({"what": "overlap only", "sentence": text, "expected": sp[3],
                                      "got": show_hits(text, [hits[hi]])})
            else:
                r["fn"] += 1
                near = [h for h in hits if overlaps(h[1], h[2], s, e)]
                failures[row].append({"what": "missed", "sentence": text,
                                      "scheme": card_scheme("".join(c for c in sp[3] if c.isdigit()) or "0")
                                      if row == "card" else None,
                                      "expected": "%s %r%s" % (sp[0], sp[3], " (%s)" % card_note(sp[3])
                                                               if row == "card" else ""),
                                      "got": show_hits(text, near)})
        for hi, h in enumerate(hits):
            row = row_of_type.get(h[0])
            under = [sp for sp in spans if overlaps(h[1], h[2], sp[1], sp[2])]
            label = ", ".join(sorted({sp[0] for sp in under})) or "no label"
            if row is None:
                other[h[0]].append({"sentence": text, "got": show_hits(text, [h]), "label": label})
                continue
            rows[row]["hits"] += 1
            if hm[hi] is None:
                rows[row]["fp"] += 1
                failures[row].append({"what": "false positive (under %s)" % label, "sentence": text,
                                      "expected": "; ".join("%s %r" % (sp[0], sp[3]) for sp in under) or "nothing",
                                      "got": show_hits(text, [h])})
        for sp in spans:
            if sp[0] == "PHONE_NUMBER":
                phone["spans"] += 1
                on = [h for h in hits if h[0] in ("mobile", "landline") and overlaps(h[1], h[2], sp[1], sp[2])]
                if on:
                    phone["found"] += 1
                    phone["examples"].append({"value": sp[3], "got": show_hits(text, on)})
    for r in rows.values():
        finish_row(r)
    print("== 2. presidio synthetic English set: %d texts, %s" % (len(data), path))
    print("   rows: email <- EMAIL_ADDRESS; ipv4/ipv6 <- IP_ADDRESS (by the value); card <- CREDIT_CARD, a hit of")
    print("   payment_card or bank_card counts")
    if stray:
        print("   note: %d hits crossed a text boundary and were ignored" % stray)
    tot = print_rows(rows, list(PRESIDIO_ROWS))
    print()
    print("PHONE_NUMBER (not applicable: these are not mainland numbers, hegui is not expected to find them): "
          "%d spans, %d of them hit as mobile/landline" % (phone["spans"], phone["found"]))
    for ex in phone["examples"][:n_examples]:
        print("    %r -> %s" % (ex["value"], ex["got"]))
    print("Labels hegui has no detector for: %s" % ", ".join("%s %d" % kv for kv in unmapped.most_common()))
    print("  (PERSON: person_name is for Chinese names only and off by default; it is not run here)")
    if other:
        print("Other hegui hits (types with no corresponding label; all are false positives unless noted):")
        for t, items in sorted(other.items()):
            lab = collections.Counter(i["label"] for i in items)
            print("  %-14s %d  (under: %s)" % (t, len(items), ", ".join("%s %d" % kv for kv in lab.most_common())))
            for i in items[:n_examples]:
                print("      %s  in  %r" % (i["got"], i["sentence"][:160]))
    card_misses = collections.Counter(f["scheme"] for f in failures["card"]
                                      if f["what"] == "missed")
    if card_misses:
        print("CREDIT_CARD misses by scheme: %s" % ", ".join("%s %d" % kv for kv in card_misses.most_common()))
    print_failures(failures, rows, list(PRESIDIO_ROWS), n_examples)
    return {"texts": len(data), "card_misses": dict(card_misses), "rows": rows, "overall": tot, "labels": dict(labels),
            "no_detector": dict(unmapped), "phone_not_applicable": phone,
            "other_hits": {t: v for t, v in other.items()}, "failures": failures}


# ---- part 3: Weibo NER person names ----------------------------------------------------------------------------

WEIBO_DIR = "data/pii/weibo-ner-zh"


def read_conll(path):
    """Messages as (text, [(label, start_char, end_char)]). A token is a character followed by its position digits;
    its first character is the text."""
    msgs, chars, tags = [], [], []

    def flush():
        if chars:
            spans, cur = [], None
            for i, tag in enumerate(tags + ["O"]):
                if cur and not (tag.startswith("I-") and tag[2:] == cur[0]):
                    spans.append((cur[0], cur[1], i))
                    cur = None
                if tag.startswith("B-") or (tag.startswith("I-") and cur is None):
                    cur = (tag[2:], i)
            msgs.append(("".join(chars), spans))
        chars.clear()
        tags.clear()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                flush()
                continue
            tok, tag = line.split("\t")
            chars.append(tok[0])
            tags.append(tag.strip())
    flush()
    return msgs


def is_han(ch):
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def part_weibo(hg, workdir, shared, n_examples):
    d = os.path.join(shared, WEIBO_DIR)
    files = sorted(glob.glob(os.path.join(d, "weiboNER_2nd_conll.*")))
    if not files:
        print("== 3. weibo: skipped: %s not found" % d)
        return None
    msgs = []
    for p in files:
        msgs.extend(read_conll(p))
    texts = [m[0] for m in msgs]
    per, stray = scan_documents(hg, workdir, "weibo.txt", texts, ["--names", "--types", "person_name"])
    row = new_row()
    sub = new_row()  # PER.NAM spans of 2-3 Han characters
    other_labels = collections.Counter()
    hit_texts = collections.Counter()
    failures = collections.defaultdict(list)
    for (text, spans), hits in zip(msgs, per):
        hit_texts.update(text.encode("utf-8")[h[1]:h[2]].decode("utf-8", "replace") for h in hits)
        cum = [0]
        for ch in text:
            cum.append(cum[-1] + len(ch.encode("utf-8")))
        names = [(cum[s], cum[e], text[s:e]) for lab, s, e in spans if lab == "PER.NAM"]
        pos = [("person_name", s, e) for s, e, _ in names]
        pm, hm = match_doc(pos, hits, {"person_name": "person_name"})
        for (s, e, name), (mode, hi) in zip(names, pm):
            short = 2 <= len(name) <= 3 and all(is_han(c) for c in name)
            for r in (row, sub) if short else (row,):
                r["positives"] += 1
                r["exact" if mode == "exact" else "overlap" if mode else "fn"] += 1
            if mode != "exact":
                failures["person_name"].append({"what": "overlap only" if mode else "missed", "sentence": text,
                                                "expected": name,
                                                "got": show_hits(text, [hits[hi]] if mode else [])})
        for hi, h in enumerate(hits):
            row["hits"] += 1
            if hm[hi] is None:
                row["fp"] += 1
                under = [lab for lab, s, e in spans if overlaps(h[1], h[2], cum[s], cum[e])]
                label = ", ".join(sorted(set(under))) or "no label"
                other_labels[label] += 1
                failures["person_name"].append({"what": "false positive (under %s)" % label, "sentence": text,
                                                "expected": ", ".join(n for _, _, n in names) or "no PER.NAM",
                                                "got": show_hits(text, [h])})
    finish_row(row)
    finish_row(sub)
    print("== 3. weibo NER: %d messages (%s), person_name (experimental) against PER.NAM" % (
        len(msgs), ", ".join(os.path.basename(p) for p in files)))
    if stray:
        print("   note: %d hits crossed a message boundary and were ignored" % stray)
    print_rows({"person_name": row}, ["person_name"])
    print("PER.NAM spans of 2-3 Han characters only: %d spans, recall %s (exact %s)" % (
        sub["positives"], fmt(sub["recall"]), fmt(sub["recall_exact"])))
    print("Hit texts: %d distinct; commonest: %s" % (len(hit_texts), ", ".join(
        "%s %d" % kv for kv in hit_texts.most_common(8))))
    if other_labels:
        print("False positives by the annotation under them: %s" % ", ".join("%s %d" % kv
                                                                          for kv in other_labels.most_common()))
    low = [k for k in ("precision", "precision_exact") if row[k] is not None and row[k] < 0.9]
    print("Precision %s (overlap), %s (exact spans): %s" % (
        fmt(row["precision"]), fmt(row["precision_exact"]),
        ("%s below 0.9: keep it marked experimental" % " and ".join(
            "overlap" if k == "precision" else "exact" for k in low)) if low else "both at least 0.9"))
    print_failures(failures, {"person_name": row}, ["person_name"], n_examples)
    return {"messages": len(msgs), "row": row, "hit_texts": dict(hit_texts), "short_names": sub,
            "fp_labels": dict(other_labels), "failures": failures}


# ---- main ------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hegui", default=os.path.join(REPO, "build", "hegui"), help="hegui binary (build/hegui)")
    ap.add_argument("-n", "--sentences", type=int, default=3000, help="generated sentences (3000)")
    ap.add_argument("--seed", default="1", help="generator seed (1)")
    ap.add_argument("--examples", type=int, default=5, help="failures to print per type and kind (5)")
    ap.add_argument("--parts", default="generated,presidio,weibo", help="which parts to run (all three)")
    ap.add_argument("--json", metavar="OUT", help="also write every number and every failure as JSON")
    ap.add_argument("--dump", metavar="FILE", help="write the generated sentences with their truth as JSON lines")
    ap.add_argument("--keep-temp", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    exe = args.hegui if os.path.isabs(args.hegui) or os.path.exists(args.hegui) else os.path.join(REPO, args.hegui)
    if not os.access(exe, os.X_OK):
        print("pii_eval: hegui not found at %s (build it first)" % exe, file=sys.stderr)
        return 2
    shared = os.environ.get("HG_SHARED") or os.path.join(os.path.dirname(REPO), "shared")
    parts = set(args.parts.split(","))
    workdir = tempfile.mkdtemp(prefix="hegui-pii-eval-")
    out = {"meta": {"hegui": exe, "today": TODAY, "shared": shared}}
    try:
        run_exe = os.path.join(workdir, "hegui")  # a private copy: a rebuild during the run does no harm
        shutil.copy2(exe, run_exe)
        hg = Hegui(run_exe)
        ver = subprocess.run([run_exe, "version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out["meta"]["hegui_version"] = ver.stdout.decode("utf-8", "replace").strip()
        print("hegui PII evaluation — %s (%s), --today %s" % (exe, out["meta"]["hegui_version"] or "?", TODAY))
        print()
        if "generated" in parts:
            out["generated"] = part_generated(hg, workdir, args.sentences, args.seed, args.examples)
            if args.dump:
                with open(args.dump, "w", encoding="utf-8") as f:
                    for text, values in generate(args.sentences, args.seed):
                        f.write(json.dumps({"text": text, "values": values}, ensure_ascii=False) + "\n")
            print()
        if "presidio" in parts or "weibo" in parts:
            if not os.path.isdir(os.path.join(shared, "data")):
                print("skipped: shared data not found at %s (set HG_SHARED)" % shared)
            else:
                if "presidio" in parts:
                    out["presidio"] = part_presidio(hg, workdir, shared, args.examples)
                    print()
                if "weibo" in parts:
                    out["weibo"] = part_weibo(hg, workdir, shared, args.examples)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(out, f, ensure_ascii=False, indent=1)
            print("\nwrote %s" % args.json)
    except HeguiError as e:
        print("pii_eval: hegui error: %s" % e, file=sys.stderr)
        return 2
    finally:
        if args.keep_temp:
            print("work directory kept: %s" % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
