# Shared by scripts/run and scripts/test: make .venv with Python >= 3.11 and install the project.
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.13 python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      PY=$cand; break
    fi
  done
fi
if [ -z "$PY" ]; then echo "Python 3.11 or newer is required" >&2; exit 1; fi
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
EXTRAS=${EXTRAS:-}
stamp=".venv/.installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".${EXTRAS:+[$EXTRAS]}"
  touch "$stamp"
fi
