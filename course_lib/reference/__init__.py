"""Reference solutions (instructor only: never part of the student build)."""
