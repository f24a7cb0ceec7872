"""Deep learning for genomics: the course library.

Students get this package without its reference solutions; instructors get
it whole, together with the grading package.
"""
__version__ = "0.1.0"
