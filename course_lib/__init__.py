"""Deep learning for genomics: the course library.

Students get this package without `course_lib.reference` (the solutions);
instructors get it whole, together with the `autograder` package.
"""
__version__ = "0.1.0"
