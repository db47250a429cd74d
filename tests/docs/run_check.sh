#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_check.sh <script.py> [args...]
#
# Runs one of the documentation checks with python3, which the test gets
# through grb_need (installed as root, else the test is skipped).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../cmake/test_tools.sh"
grb_need python3
exec python3 "$@"
