"""Write JSON plans under every built-in preset through the real CLI.

Usage: python .ci/contract_plans.py OUT_DIR

Clonazepam at 0.5, 1, 2 and 4 mg/day under every preset that applies to it;
a preset written for another drug plans that drug at doses across its range.
CI then checks every file with the independent plan-contract checker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from taper.rules import PRESETS

CLONAZEPAM_DOSES = ("0.5mg", "1mg", "2mg", "4mg")
OWN_DRUG_DOSES = {
    "diazepam": ("5mg", "10mg", "20mg", "40mg"),
    "alprazolam": ("0.5mg", "1mg", "3mg", "4mg"),
    "alprazolam-xr": ("1mg", "3mg", "6mg"),
}


def jobs() -> list[tuple[str, str, str]]:
    """(drug, dose, preset) for every plan to write."""
    out = []
    for name, rule in PRESETS.items():
        if not rule.drugs or "clonazepam" in rule.drugs:
            out += [("clonazepam", dose, name) for dose in CLONAZEPAM_DOSES]
        for drug in rule.drugs:
            if drug != "clonazepam":
                out += [(drug, dose, name) for dose in OWN_DRUG_DOSES[drug]]
    return out


def main(out_dir: str) -> int:
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    failed = 0
    for drug, dose, name in jobs():
        path = folder / f"{drug}-{dose}-{name}.json"
        cmd = [
            sys.executable,
            "-m",
            "taper",
            "plan",
            drug,
            dose,
            "--rule",
            name,
            "--start",
            "2027-01-04",
            "--json",
            str(path),
            "--force",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            failed += 1
            print(f"{path.name}: exit {result.returncode}: {result.stderr.strip()}")
    print(f"wrote {len(jobs()) - failed} plans, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
