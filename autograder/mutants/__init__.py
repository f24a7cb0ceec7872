"""Known-wrong submissions ("mutants"), one module per assignment.

Each module defines MUTANTS = {name: {solution grade_id: code}}; solution cells a
mutant does not name get the reference solution. The grading tests state the exact
points each mutant must lose.
"""
