#!/usr/bin/env bash
# test_label_files.sh HEGUI — `hegui label add|read|verify` on real files, read back by independent tools: exiftool
# (XMP in PNG/JPEG/WebP, MP4 keys, Ogg comments, OOXML custom properties, RIFF chunk, ID3, Vorbis comment, PDF Info), ffprobe (MP3, FLAC), pdfinfo (PDF Info), PyYAML
# (Markdown front matter), unzip and Python's zipfile (OOXML), and the signature checked by Python's own Ed25519 and BLAKE2b over the documented
# messages. Every input is generated here (ffmpeg, Python); nothing third-party is committed.
set -u
HEGUI=$1
export HEGUI_BIN=$HEGUI
for tool in exiftool ffmpeg ffprobe pdfinfo unzip; do
  command -v $tool >/dev/null || { echo "skipped: $tool is not installed (scripts/install-deps.sh test)"; exit 77; }
done
python3 -c 'import yaml, cryptography' 2>/dev/null || { echo "skipped: python3-yaml or python3-cryptography missing"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 2
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
rc() { "$@" >out 2>err; echo $?; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
label_of() { "$HEGUI" label read --json "$1" | python3 -c 'import json,sys; print(json.dumps({"AIGC": json.load(sys.stdin)["label"]}, separators=(",", ":")))'; }

# ---- inputs ----
mkdir media
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }
ff -f lavfi -i testsrc=size=64x48 -frames:v 1 media/a.png
ff -f lavfi -i testsrc=size=64x48 -frames:v 1 media/a.jpg
ff -f lavfi -i testsrc=size=64x48 -frames:v 1 media/a.webp
ff -f lavfi -i testsrc=size=64x48 -frames:v 1 -lossless 1 media/lossless.webp
ff -f lavfi -i sine=d=0.3 media/a.wav
ff -f lavfi -i sine=d=0.3 -metadata title=Tone media/a.mp3
ff -f lavfi -i sine=d=0.3 -metadata title=Tone media/a.flac
python3 - media/a.pdf <<'PY'
import sys
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>", None,
        b"<< /Title (Report \\(draft\\)) /Producer (test) >>"]
stream = b"BT /F1 12 Tf 20 100 Td (Hello) Tj ET"
objs[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
out, offs = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
for i, o in enumerate(objs):
    offs.append(len(out)); out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
x = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offs)
out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
open(sys.argv[1], "wb").write(out)
PY
ff -f lavfi -i testsrc=size=64x48:d=0.5 -f lavfi -i sine=d=0.5 -c:v libx264 -c:a aac -shortest media/a.mp4
ff -f lavfi -i testsrc=size=64x48:d=0.5 -c:v libx264 -movflags +faststart media/faststart.mp4
ff -f lavfi -i sine=d=0.5 -c:a aac media/a.m4a
ff -f lavfi -i sine=d=0.5 -c:a libvorbis -metadata title=Tone media/a.ogg
ff -f lavfi -i sine=d=0.5 -c:a libopus -metadata title=Tone media/a.opus
python3 -c "print(';FFMETADATA1\nbig=' + 'x' * 150000)" >meta.txt  # a comment header over many pages
ff -f lavfi -i sine=d=0.5 -i meta.txt -map_metadata 1 -c:a libvorbis media/bigcomment.ogg
python3 - media/a.docx media/custom.xlsx <<'PY'
import sys, zipfile
ct = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
rels = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
doc = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Generated text</w:t></w:r></w:p></w:body></w:document>'
custom = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Client"><vt:lpwstr>ACME</vt:lpwstr></property></Properties>'
for path, extra in ((sys.argv[1], False), (sys.argv[2], True)):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct); z.writestr("_rels/.rels", rels); z.writestr("word/document.xml", doc)
        if extra: z.writestr("docProps/custom.xml", custom)
PY
python3 - media/xrefstream.pdf <<'PY'  # PDF 1.5: a cross-reference stream instead of a table
import struct, sys
objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>", 4: b"<< /Title (XS test) /Producer (test) >>"}
out, offs = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"), {}
for k, v in objs.items():
    offs[k] = len(out); out += b"%d 0 obj\n" % k + v + b"\nendobj\n"
xs = len(out)
rows = b"\x00\x00\x00\xff" + b"".join(b"\x01" + struct.pack(">H", offs[k]) + b"\x00" for k in range(1, 5)) + b"\x01" + struct.pack(">H", xs) + b"\x00"
out += b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 2 1] /Root 1 0 R /Info 4 0 R /Length %d >>\nstream\n" % len(rows) + rows
out += b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xs
open(sys.argv[1], "wb").write(out)
PY
printf -- '---\ntitle: Notes\n---\n# Notes\n\nGenerated text.\n' >media/a.md
printf '# Plain\n\nno front matter\n' >media/b.md
echo "not a format" >media/readme.txt
cp -r media orig

# ---- add, then every file reads back as labelled, and verifies ----
[ "$(rc "$HEGUI" label add --data-dir keys --producer acme-ai media)" = 0 ] && ok || bad "add dir: $(cat out err)"
[ "$(grep -c labelled out)" = 19 ] && ok || bad "add dir labelled $(grep -c labelled out) files, want 19: $(cat out)"
[ "$(rc "$HEGUI" label verify --data-dir keys media)" = 0 ] && ok || bad "verify dir: $(cat out err)"
[ "$(grep -c ': intact' out)" = 19 ] && ok || bad "verify dir: $(cat out)"
[ "$(rc "$HEGUI" label read media/readme.txt)" = 2 ] && ok || bad "unknown format named on the command line is an error"

# the original bytes of the content are all still there (labels add, never re-encode)
ffprobe -v error -show_entries stream=codec_name,sample_rate,width,height -of csv media/a.png >p1
ffprobe -v error -show_entries stream=codec_name,sample_rate,width,height -of csv orig/a.png >p2
cmp -s p1 p2 && ok || bad "png stream changed"
for f in a.wav a.mp3 a.flac a.webp lossless.webp a.mp4 faststart.mp4 a.m4a a.ogg a.opus bigcomment.ogg; do
  [ "$(ffmpeg -nostdin -loglevel error -i media/$f -f md5 -)" = "$(ffmpeg -nostdin -loglevel error -i orig/$f -f md5 -)" ] \
    && ok || bad "$f decodes differently after labelling"
done

# ---- independent readers ----
for f in a.png a.jpg a.webp lossless.webp; do
  want=$(label_of media/$f)
  got=$(exiftool -s3 -XMP-TC260:Aigc media/$f)
  [ "$got" = "$want" ] && ok || bad "exiftool XMP-TC260:Aigc of $f: '$got' want '$want'"
done
[ "$(exiftool -b -U -RIFF:Unknown_AIGC media/a.wav)" = "$(label_of media/a.wav)" ] && ok || bad "exiftool RIFF AIGC chunk"
[ "$(exiftool -s3 -ID3:UserDefinedText media/a.mp3)" = "(AIGC) $(label_of media/a.mp3)" ] && ok || bad "exiftool ID3 TXXX: $(exiftool -s3 -ID3:UserDefinedText media/a.mp3)"
[ "$(exiftool -s3 -Vorbis:Aigc media/a.flac)" = "$(label_of media/a.flac)" ] && ok || bad "exiftool Vorbis AIGC"
[ "$(exiftool -s3 -PDF:AIGC media/a.pdf)" = "$(label_of media/a.pdf)" ] && ok || bad "exiftool PDF Info AIGC"
for f in a.mp4 faststart.mp4 a.m4a; do
  [ "$(ffprobe -v error -show_entries format_tags=AIGC -of default=nw=1:nk=1 media/$f)" = "$(label_of media/$f)" ] \
    && ok || bad "ffprobe AIGC tag of $f"
  [ "$(exiftool -s3 -Keys:AIGC media/$f)" = "$(label_of media/$f)" ] && ok || bad "exiftool Keys:AIGC of $f"
done
for f in a.ogg a.opus bigcomment.ogg; do
  [ "$(ffprobe -v error -show_entries stream_tags=AIGC -of default=nw=1:nk=1 media/$f)" = "$(label_of media/$f)" ] \
    && ok || bad "ffprobe AIGC comment of $f"
  [ "$(exiftool -s3 -Vorbis:Aigc media/$f)" = "$(label_of media/$f)" ] && ok || bad "exiftool Vorbis:Aigc of $f"
done
[ "$(ffprobe -v error -show_entries stream_tags=title -of default=nw=1:nk=1 media/a.opus)" = Tone ] && ok || bad "opus lost its title"
ffmpeg -nostdin -v error -err_detect crccheck -i media/bigcomment.ogg -f null - 2>crc.err && [ ! -s crc.err ] && ok || bad "ogg pages: $(cat crc.err)"
for f in a.docx custom.xlsx; do
  unzip -tq media/$f >/dev/null && ok || bad "unzip -t $f"
  got=$(python3 -c 'import sys, zipfile, xml.etree.ElementTree as E
z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
ns = {"p": "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties", "vt": "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"}
root = E.fromstring(z.read("docProps/custom.xml"))
props = {p.get("name"): p.find("vt:lpwstr", ns).text for p in root.findall("p:property", ns)}
assert "/docProps/custom.xml" in z.read("[Content_Types].xml").decode() and "docProps/custom.xml" in z.read("_rels/.rels").decode()
assert z.read("word/document.xml").decode().count("Generated text") == 1
print(props["AIGC"], props.get("Client"))' media/$f)
  want="$(label_of media/$f) $([ $f = custom.xlsx ] && echo ACME || echo None)"
  [ "$got" = "$want" ] && ok || bad "zipfile reads $f: $got"
  [ "$(exiftool -s3 -AIGC media/$f)" = "$(label_of media/$f)" ] && ok || bad "exiftool AIGC of $f: $(exiftool -s3 -AIGC -Warning media/$f)"
done
for f in a.mp3 a.flac; do
  [ "$(ffprobe -v error -show_entries format_tags=AIGC -of default=nw=1:nk=1 media/$f)" = "$(label_of media/$f)" ] \
    && ok || bad "ffprobe AIGC tag of $f"
  [ "$(ffprobe -v error -show_entries format_tags=title -of default=nw=1:nk=1 media/$f)" = Tone ] && ok || bad "$f lost its title"
done
[ "$(pdfinfo -custom media/a.pdf | sed -n 's/^AIGC: *//p')" = "$(label_of media/a.pdf)" ] && ok || bad "pdfinfo AIGC: $(pdfinfo -custom media/a.pdf)"
[ "$(pdfinfo media/a.pdf | sed -n 's/^Title: *//p')" = "Report (draft)" ] && ok || bad "pdf lost its Title"
[ "$(pdfinfo media/a.pdf | sed -n 's/^Pages: *//p')" = 1 ] && ok || bad "pdf pages"
[ "$(pdfinfo -custom media/xrefstream.pdf | sed -n 's/^AIGC: *//p')" = "$(label_of media/xrefstream.pdf)" ] && ok || bad "pdfinfo AIGC (xref stream)"
[ "$(pdfinfo media/xrefstream.pdf | sed -n 's/^Title: *//p')" = "XS test" ] && ok || bad "xref-stream pdf lost its Title"
for f in a.md b.md; do
  got=$(python3 -c 'import sys,yaml; t=open(sys.argv[1]).read(); print(yaml.safe_load(t.split("---\n")[1])["AIGC"])' media/$f)
  [ "$got" = "$(label_of media/$f)" ] && ok || bad "yaml front matter of $f: $got"
done
grep -q '^title: Notes$' media/a.md && tail -n 3 media/a.md | cmp -s - <(tail -n 3 orig/a.md) && ok || bad "a.md other front matter or body lost"
tail -c +1 orig/b.md | cmp -s - <(tail -n 3 media/b.md) && ok || bad "b.md body changed"

# ---- the signature, checked outside hegui over the documented messages (BLAKE2b-256 of the content) ----
python3 - keys orig/b.md media/b.md orig/a.pdf media/a.pdf <<'PY' && ok || bad "independent signature check"
import base64, hashlib, json, subprocess, sys, os
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
keys, pairs = sys.argv[1], list(zip(sys.argv[2::2], sys.argv[3::2]))
pk = Ed25519PublicKey.from_public_bytes(open(keys + "/label.pub", "rb").read())
b64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
for orig, labelled in pairs:
    rep = json.loads(subprocess.check_output([os.environ.get("HEGUI_BIN", "hegui"), "label", "read", "--json", labelled]))
    l = rep["label"]
    h = hashlib.blake2b(open(orig, "rb").read(), digest_size=32).digest()  # these carriers leave the original intact
    sig, stored = l["ReservedCode1"].split(".")
    assert b64(stored) == h, (orig, "stored hash")
    pk.verify(b64(sig), "\n".join(["hegui-aigc-file-v1 producer", l["ContentProducer"], l["ProduceID"], h.hex()]).encode())
    pk.verify(b64(l["ReservedCode2"]), "\n".join(["hegui-aigc-file-v1 propagator", l["Label"], l["ContentProducer"],
              l["ProduceID"], l["ReservedCode1"], l["ContentPropagator"], l["PropagateID"], h.hex()]).encode())
PY

# ---- labels written by another writer (ffmpeg's muxers) are read by hegui ----
L2='{"AIGC":{"Label":"2","ContentProducer":"other-tool","ProduceID":"x-1","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}'
ff -f lavfi -i sine=d=0.2 -metadata AIGC="$L2" ext.mp3
ff -f lavfi -i sine=d=0.2 -metadata AIGC="$L2" ext.flac
ff -f lavfi -i sine=d=0.2 -c:a libopus -metadata AIGC="$L2" ext.opus
ff -f lavfi -i testsrc=size=32x32:d=0.2 -c:v libx264 -movflags use_metadata_tags -metadata AIGC="$L2" ext.mp4
for f in ext.mp3 ext.flac ext.mp4 ext.opus; do
  [ "$(rc "$HEGUI" label read --json $f)" = 0 ] && [ "$(label_of $f)" = "$L2" ] && ok || bad "ffmpeg-written label in $f: $(cat out err)"
  [ "$(rc "$HEGUI" label verify --json --data-dir keys $f)" = 1 ] && [ "$(field producer_signature <out)" = absent ] && ok || bad "unsigned label verifies: $f"
done
cp orig/a.jpg ext.jpg
exiftool -q -overwrite_original -UserComment="$L2" ext.jpg
[ "$(label_of ext.jpg)" = "$L2" ] && ok || bad "exiftool-written Exif UserComment label not read"
"$HEGUI" label add --data-dir keys --producer acme-ai ext.jpg >/dev/null
[ "$(exiftool -s3 -UserComment ext.jpg)" = "" ] && [ "$("$HEGUI" label read --json ext.jpg | field labels_found)" = 1 ] && ok || bad "Exif label not moved to XMP"

# ---- labelling again overwrites: still exactly one label, content hash unchanged ----
h1=$("$HEGUI" label read --json media/a.png | field content_blake2b)
for f in a.png a.jpg a.webp a.wav a.mp3 a.flac a.pdf a.md a.mp4 faststart.mp4 a.ogg a.opus a.docx custom.xlsx; do
  "$HEGUI" label add --data-dir keys --producer acme-ai --produce-id again-1 media/$f >/dev/null || bad "relabel $f"
  [ "$("$HEGUI" label read --json media/$f | field labels_found)" = 1 ] && ok || bad "$f carries more than one label"
done
[ "$("$HEGUI" label read --json media/a.png | field content_blake2b)" = "$h1" ] && ok || bad "content hash moved"
[ "$(exiftool -s3 -XMP-TC260:Aigc media/a.png | grep -c again-1)" = 1 ] && ok || bad "exiftool sees the old label"
[ "$(grep -c hegui-aigc-begin media/a.pdf)" = 1 ] && ok || bad "pdf: second label appended instead of replacing"
s1=$(stat -c %s media/faststart.mp4)
"$HEGUI" label add --data-dir keys --producer acme-ai --produce-id again-2 media/faststart.mp4 >/dev/null
[ "$(stat -c %s media/faststart.mp4)" = "$s1" ] && ok || bad "mp4 grows on every relabel"
[ "$(rc "$HEGUI" label verify --data-dir keys media)" = 0 ] && ok || bad "verify after relabel: $(cat out)"

# ---- tampering: the content, the label, the key ----
cp media/a.md t.md && sed -i 's/Generated text/Edited text/' t.md
[ "$(rc "$HEGUI" label verify --data-dir keys t.md)" = 1 ] && grep -q "content changed" out && ok || bad "changed md content: $(cat out)"
python3 -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[200]^=1; open(sys.argv[2],"wb").write(d)' media/a.wav t.wav
[ "$(rc "$HEGUI" label verify --json --data-dir keys t.wav)" = 1 ] && [ "$(field content_unchanged <out)" = False ] && ok || bad "changed wav samples: $(cat out)"
sed 's/Hello/Jello/' media/a.pdf >t.pdf
[ "$(rc "$HEGUI" label verify --data-dir keys t.pdf)" = 1 ] && ok || bad "changed pdf page"
sed 's/acme-ai/acme-AI/' media/a.flac >t.flac
[ "$(rc "$HEGUI" label verify --json --data-dir keys t.flac)" = 1 ] && [ "$(field producer_signature <out)" = invalid ] && ok || bad "forged producer: $(cat out)"
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(d.replace(b"\"Label\":\"1\"", b"\"Label\":\"3\""))' media/a.mp3 t.mp3
[ "$(rc "$HEGUI" label verify --json --data-dir keys t.mp3)" = 1 ] && [ "$(field propagator_signature <out)" = invalid ] && ok || bad "changed Label: $(cat out)"
"$HEGUI" label show-key --data-dir other >/dev/null
[ "$(rc "$HEGUI" label verify --data-dir other media/a.jpg)" = 1 ] && ok || bad "another key verified"
[ "$(rc "$HEGUI" label verify --data-dir keys orig/a.png)" = 1 ] && grep -q "no label" out && ok || bad "unlabelled png: $(cat out)"

# ---- two different labels in one file: a conflict (a tEXt AIGC chunk beside the XMP) ----
python3 - media/a.png conflict.png <<'PY'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
text = b'AIGC\0{"AIGC":{"Label":"1","ContentProducer":"someone-else","ProduceID":"x","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}'
chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
i = d.index(b"IEND") - 4
open(sys.argv[2], "wb").write(d[:i] + chunk + d[i:])
PY
[ "$(rc "$HEGUI" label read --json conflict.png)" = 1 ] && [ "$(field conflict <out)" = True ] && ok || bad "conflict not reported: $(cat out)"
[ "$(rc "$HEGUI" label verify --data-dir keys conflict.png)" = 1 ] && grep -q "two different labels" out && ok || bad "verify conflict: $(cat out)"
cp conflict.png c2.png
[ "$(rc "$HEGUI" label add --data-dir keys --platform --propagator plat --propagate-id p c2.png)" = 2 ] && cmp -s conflict.png c2.png && ok || bad "platform on a conflict must refuse, file untouched"
[ "$(rc "$HEGUI" label add --data-dir keys --producer acme-ai conflict.png)" = 0 ] && [ "$("$HEGUI" label read --json conflict.png | field labels_found)" = 1 ] && ok || bad "producer relabel leaves one label"
[ "$(exiftool -s3 -PNG:AIGC conflict.png)" = "" ] && ok || bad "tEXt AIGC left behind"

# ---- truncated and corrupt files: error 2, never a changed file ----
head -c 300 orig/a.png >trunc.png && cp trunc.png trunc0.png
[ "$(rc "$HEGUI" label add --data-dir keys --producer acme-ai trunc.png)" = 2 ] && cmp -s trunc.png trunc0.png && ok || bad "truncated png: $(cat out err)"
grep -q "trunc.png.*offset" err && ok || bad "error names file and offset: $(cat err)"
[ "$(rc "$HEGUI" label read trunc.png)" = 2 ] && ok || bad "read truncated png"
python3 -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[40:44]=b"\xff\xff\xff\x7f"; open(sys.argv[2],"wb").write(d)' orig/a.wav corrupt.wav
cp corrupt.wav corrupt0.wav
[ "$(rc "$HEGUI" label add --data-dir keys --producer acme-ai corrupt.wav)" = 2 ] && cmp -s corrupt.wav corrupt0.wav && ok || bad "corrupt wav"
head -c 1000 orig/a.flac >trunc.flac
[ "$(rc "$HEGUI" label add --data-dir keys --producer acme-ai trunc.flac)" = 2 ] || [ "$(rc "$HEGUI" label verify --data-dir keys trunc.flac)" = 1 ] && ok || bad "truncated flac"
head -c 20 orig/a.jpg >trunc.jpg
[ "$(rc "$HEGUI" label read trunc.jpg)" = 2 ] && ok || bad "truncated jpeg"
ls media | grep -q 'hg-label' && bad "temporary file left behind" || ok
[ "$(stat -c %a media/a.png)" = "$(stat -c %a orig/a.png)" ] && ok || bad "file mode changed"
mkdir locked && cp orig/a.png locked/ && if chattr +i locked 2>/dev/null; then  # no temporary file can be made
  [ "$(rc "$HEGUI" label add --data-dir keys --producer acme-ai locked/a.png)" = 2 ] && cmp -s locked/a.png orig/a.png \
    && grep -q "^hegui: locked/a.png: cannot create a temporary file" err && ok || bad "write failure: $(cat err)"
  chattr -i locked
fi
cp orig/a.wav linked.wav && ln -s linked.wav link.wav
"$HEGUI" label add --data-dir keys --producer acme-ai link.wav >/dev/null && [ -L link.wav ] \
  && [ "$("$HEGUI" label read --json linked.wav | field labels_found)" = 1 ] && ok || bad "a symlink was replaced by a file"

# ---- platform mode: propagator fields and ReservedCode2 change, the producer's stay ----
cp media/a.jpg p.jpg
before=$("$HEGUI" label read --json p.jpg)
[ "$(rc "$HEGUI" label add --data-dir platkeys --platform --propagator big-platform --propagate-id post-77 --label 2 p.jpg)" = 0 ] && ok || bad "platform add: $(cat err)"
after=$("$HEGUI" label read --json p.jpg)
python3 - "$before" "$after" <<'PY' && ok || bad "platform mode touched the producer's fields"
import json, sys
b, a = (json.loads(x)["label"] for x in sys.argv[1:])
assert all(a[k] == b[k] for k in ("ContentProducer", "ProduceID", "ReservedCode1")), (a, b)
assert (a["Label"], a["ContentPropagator"], a["PropagateID"]) == ("2", "big-platform", "post-77")
assert a["ReservedCode2"] != b["ReservedCode2"]
PY
[ "$(rc "$HEGUI" label verify --data-dir keys --public-key platkeys/label.pub p.jpg)" = 0 ] && ok || bad "verify with both keys: $(cat out)"
[ "$(rc "$HEGUI" label verify --json --data-dir keys p.jpg)" = 1 ] && [ "$(field producer_signature <out)" = valid ] && ok || bad "producer key alone: $(cat out)"
cp orig/a.jpg q.jpg
[ "$(rc "$HEGUI" label add --data-dir platkeys --platform --propagator big-platform --propagate-id post-78 q.jpg)" = 2 ] && ok || bad "platform on an unlabelled file needs --label"
[ "$(rc "$HEGUI" label add --data-dir platkeys --platform --propagator big-platform --propagate-id post-78 --label 3 q.jpg)" = 0 ] && ok || bad "platform label 3"
[ "$(rc "$HEGUI" label verify --json --public-key platkeys/label.pub q.jpg)" = 0 ] && [ "$(field producer_signature <out)" = absent ] && ok || bad "platform-only label: $(cat out)"

# ---- content handed out without the explicit label: a record of who received it ----
cp orig/a.png r.png
[ "$(rc "$HEGUI" label add --data-dir keys --producer acme-ai --no-explicit --recipient user-42 r.png)" = 0 ] && ok || bad "no-explicit: $(cat err)"
"$HEGUI" audit export --data-dir keys >audit.jsonl 2>&1
grep -q 'user-42' audit.jsonl && grep -q 'unlabeled' audit.jsonl && ok || bad "handout record missing: $(cat audit.jsonl)"
[ "$(rc "$HEGUI" audit verify --data-dir keys)" = 0 ] && ok || bad "audit chain: $(cat out err)"
[ "$(rc "$HEGUI" label add --data-dir keys --producer acme-ai --no-explicit r.png)" = 2 ] && ok || bad "--no-explicit without --recipient"

# ---- --json for every file, one object a line ----
"$HEGUI" label verify --json --data-dir keys media >all.jsonl
[ "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["intact"]))' all.jsonl)" = 19 ] && ok || bad "json lines: $(cat all.jsonl)"

# ---- many files: --sync batch|each|none and --jobs: reports in sorted order, a broken file in the middle is an
# error and stays byte for byte as it was, the others are labelled, no temporary file is left ----
for mode in batch each none; do
  for jobs in 1 2; do
    rm -rf many && mkdir many
    for i in $(seq -w 1 70); do cp orig/a.png many/f$i.png; done
    head -c 40 orig/a.png >many/f35.png && cp many/f35.png broken.png
    "$HEGUI" label add --sync $mode --jobs $jobs --data-dir keys --producer acme-ai many >out 2>err && st=0 || st=$?
    [ "$st" = 2 ] && ok || bad "many $mode/$jobs: exit $st"
    cmp -s many/f35.png broken.png && ok || bad "many $mode/$jobs: the broken file was changed"
    [ -z "$(find many -name '*.tmp*')" ] && ok || bad "many $mode/$jobs: temporary files left: $(ls many | grep tmp)"
    [ "$(sed 's/:.*//' out | tr '\n' ' ')" = "$(ls many | grep -v f35 | sed 's|^|many/|' | sort | tr '\n' ' ')" ] && ok ||
      bad "many $mode/$jobs: order: $(head -3 out)"
    [ "$(rc "$HEGUI" label verify --jobs $jobs --data-dir keys many/f01.png many/f70.png many/f36.png)" = 0 ] && ok ||
      bad "many $mode/$jobs: not intact: $(cat out)"
  done
done
[ "$(rc "$HEGUI" label add --sync sometimes --data-dir keys --producer acme-ai r.png)" = 2 ] && ok || bad "--sync value"

echo "label files: $pass passed, $fails failed"
[ $fails -eq 0 ]
