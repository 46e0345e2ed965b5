"""Stands in for pip's get-pip.py, which ansible-test downloads from a host outside PyPI to put pip
into each of its sanity venvs. This does the same from what Python and PyPI have: ensurepip,
then `pip install` of the packages ansible-test asks for (pip==VERSION). `tests/run --sanity`
puts it where ansible-test looks: ~/.ansible/test/cache/get_pip_VERSION.py.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
