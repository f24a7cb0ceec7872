"""The hidden checks: one pytest module per assignment, one test class per graded item.

Run by the judge against each submission (`python -m autograder grade`), by the notebooks'
hidden test cells (`autograder.grade`), or by an instructor directly:

    pytest autograder/checks/jund.py --submission submitted/alice/jund/jund.ipynb -k weighted_accuracy
"""
