"""The no-waste factory scorecard (T/UNP appendix A), the HG/T 5902 per-product ratios, the
HJ 1259 management class and the Q/CTS ZJC/T 1008 §15.5 recovery rate. Pure: a versioned
definition (TOML data), the period's facts (figures the service reads from the aggregates)
and the manager's inputs in; a scorecard out.

* `definition.py`: the TOML loaded into frozen dataclasses, with its inconsistency check;
* `inputs.py`: the period inputs and the `scorecard.*` events that record them;
* `formulas.py`: one pure function per formula key named in the definition;
* `evaluate()`: runs every criterion, the veto and the other ratios.
"""

from app.domain.scorecard.definition import Definition, load_definition
from app.domain.scorecard.formulas import FORMULAS, Facts, evaluate
from app.domain.scorecard.inputs import PeriodInputs

__all__ = ["FORMULAS", "Definition", "Facts", "PeriodInputs", "evaluate", "load_definition"]
