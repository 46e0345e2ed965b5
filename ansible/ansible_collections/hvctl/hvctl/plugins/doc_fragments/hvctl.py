# -*- coding: utf-8 -*-
# Copyright: hvctl contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The options every hvctl.hvctl module takes (module_utils/hvctl.py COMMON_ARGS).
    DOCUMENTATION = r'''
options:
  hvctl_path:
    description:
      - The hvctl binary on the target host.
      - A bare name is looked up on the remote C(PATH), then in C(/usr/bin), C(/usr/local/bin) and C(/usr/sbin);
        a path with a C(/) is run as given.
    type: str
    default: hvctl
  config:
    description:
      - An hvctl.conf other than C(/etc/hvctl/hvctl.conf), passed as C(--config).
      - hvctl reads it only when it and every directory above it belong to root (or the invoking user)
        and nobody else can write them.
    type: path
requirements:
  - hvctl on the target host (the Debian package, see the C(hvctl.hvctl.hvctl) role), run as root (C(become=true)).
notes:
  - hvctl's own one-line message (its C(Error:) line on stderr, or the C(error) field of its JSON) is the
    module's C(msg) when it fails, and whatever JSON hvctl printed is returned with it.
'''
