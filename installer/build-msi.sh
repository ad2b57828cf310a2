#!/usr/bin/env bash
# build-msi.sh - builds nlbctl.msi from nlbctl.wxs with wixl, then adds with
# msibuild what wixl's WiX subset cannot express (installer/README.md says why):
#   - EventMessageFile as REG_EXPAND_SZ;
#   - same-version upgrades: wixl's MajorUpgrade detects older versions
#     only, so a rebuilt package of the same version would install beside
#     the old one; its detection row is replaced by one that includes the
#     maximum (this version).
#
#   build-msi.sh WXS STAGE_DIR VERSION OUT_MSI
# STAGE_DIR holds the files the package takes (wixl reads sources relative
# to the current directory).
set -euo pipefail
wxs=$(realpath "$1")
stage=$2
version=$3
out=$(realpath -m "$4")
tmp="$out.tmp"
rm -f "$tmp"
cd "$stage"
wixl -a x64 -D Version="$version" -o "$tmp" "$wxs"

q() { msibuild "$tmp" -q "$1"; }
# wixl writes RegistryValue Type="expandable" as a plain string; "#%" is
# the Registry table's prefix for REG_EXPAND_SZ, as Event Log expects.
q "UPDATE \`Registry\` SET \`Value\` = '#%[#nlbctld.exe]' WHERE \`Name\` = 'EventMessageFile'"
# Attributes is part of the Upgrade table's key, so the row is replaced:
# 1 = migrate feature states, 512 = include the maximum version.
q "DELETE FROM \`Upgrade\` WHERE \`ActionProperty\` = 'WIX_UPGRADE_DETECTED'"
q "INSERT INTO \`Upgrade\` (\`UpgradeCode\`, \`VersionMax\`, \`Attributes\`, \`ActionProperty\`) VALUES ('{6F1B0C3A-6E43-4F6B-9B55-0D7C2E1A9A11}', '$version', 513, 'WIX_UPGRADE_DETECTED')"
mv -f "$tmp" "$out"
