"""The grading worker: runs one student's notebook inside the sandbox and answers the judge.

Everything in this package is public: it holds no check, no expected value and no solution.
It executes the notebook's cells, then serves requests ("call this function on these inputs",
"build this class", "run forward", "take a training step with this gradient", "describe the
layers") and sends back plain data. The judge (`autograder`, never inside the sandbox) decides
what the answers are worth.

Modules: `wire` (frames and the value codec: JSON plus safetensors, nothing that can carry
code), `objects` (trusted objects the judge can ask for: optimizers, loaders, stand-in models),
`standins` (the small models the checks hand to student functions), `session` (the request
handlers), `cells` (running notebook cells), `__main__` (the sandboxed process).
"""
