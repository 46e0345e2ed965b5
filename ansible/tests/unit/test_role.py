"""The role's hvctl.conf template renders hvctl.conf's format (examples/hvctl.conf, the README's keys)."""
import os

import jinja2
import yaml

ROLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    'ansible_collections', 'hvctl', 'hvctl', 'roles', 'hvctl')


def render(**overrides):
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as f:
        variables = yaml.safe_load(f)
    variables.update(ansible_managed='Ansible managed')
    variables.update(overrides)
    # The template module's defaults: trim_blocks on, lstrip_blocks off.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, 'templates')), trim_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template('hvctl.conf.j2').render(**variables)


def sections(text):
    """{section: {key: value}} as hvctl reads it: [section] headers, key = value, # comments."""
    out, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('['):
            current = line.strip('[]')
            assert current not in out, 'section %s twice' % current
            out[current] = {}
            continue
        key, sep, value = line.partition(' = ')
        assert sep and current, 'not key = value in a section: %r' % line
        out[current][key] = value
    return out


def test_defaults():
    assert sections(render()) == {'DEFAULT': {
        'virt_driver': 'docker', 'extras_dir': '/etc/hvctl/extras.d', 'hook_timeout': '1800',
        'compute_config': '/etc/hvctl/compute.conf'}}


def test_every_section():
    text = render(hvctl_top_dir='/opt/stack/devstack', hvctl_trusted_users=['stack', 'ci'], hvctl_virt_driver='',
                  hvctl_hook_env={'ENABLED_SERVICES': 'n-cpu,key'}, hvctl_hook_timeouts={'20-hello.sh': 60},
                  hvctl_docker={'socket': '/run/docker.sock', 'network': 'none'}, hvctl_podman={'socket': '/run/podman/podman.sock'},
                  hvctl_libvirt={'uri': 'qemu:///system', 'virt_type': 'qemu'})
    assert sections(text) == {
        'DEFAULT': {'extras_dir': '/etc/hvctl/extras.d', 'top_dir': '/opt/stack/devstack', 'hook_timeout': '1800',
                    'compute_config': '/etc/hvctl/compute.conf', 'trusted_users': 'stack, ci'},
        'hook_env': {'ENABLED_SERVICES': 'n-cpu,key'},
        'hook_timeout': {'20-hello.sh': '60'},
        'docker': {'network': 'none', 'socket': '/run/docker.sock'},
        'podman': {'socket': '/run/podman/podman.sock'},
        'libvirt': {'uri': 'qemu:///system', 'virt_type': 'qemu'},
    }
