"""Summarise a py-spy raw profile (``py-spy record -f raw``): samples by thread, by function
(inclusive) and by leaf function, as shares of all samples. Usage: python profile_summary.py FILE"""

import collections
import sys
from pathlib import Path

path = sys.argv[1]
total = 0
incl = collections.Counter()
threads = collections.Counter()
leaf = collections.Counter()
for line in Path(path).read_text().splitlines():
    line = line.rstrip()
    if not line:
        continue
    stack, _, n = line.rpartition(" ")
    n = int(n)
    total += n
    frames = stack.split(";")
    threads[frames[0][:60]] += n
    seen = set()
    for f in frames:
        name = f.split(" (")[0]
        if name not in seen:
            incl[name] += n
            seen.add(name)
    leaf[frames[-1].split(" (")[0]] += n
print("total samples", total)
print("-- by thread")
[print(f"{100 * v / total:5.1f}% {k}") for k, v in threads.most_common(6)]
print("-- inclusive")
[print(f"{100 * v / total:5.1f}% {k}") for k, v in incl.most_common(45)]
print("-- leaf")
[print(f"{100 * v / total:5.1f}% {k}") for k, v in leaf.most_common(20)]
