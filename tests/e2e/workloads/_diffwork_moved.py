"""diffwork.py's transform stage moved to another file (diffwork.py --renamed): same qualname,
same body, another co_filename, so `hotloop diff` sees a different function."""


def transform(n):
    x = 2
    while n: n -= 1; x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x
