# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The assessment engine behind win_smb_signing and win_smb_signing_facts.

FOR INTERNAL COLLECTION USE ONLY.

One pipeline, one job per file (docs/dev/architecture.md):
options (what the task asks) -> read (the host's answer, typed) -> assess (the host's state and
its verdict, once per task) -> decide (writes, refusals, the gate, warnings) -> render (facts,
result keys, diff). The action plugins only run the scripts and the probe, and hand the pieces
from one step to the next.
"""
