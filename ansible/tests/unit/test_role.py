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


def ansible(tmp_path, *args):
    """Runs an ansible-playbook ARGS from the venv of this Python, with the collection on its path."""
    import subprocess
    import sys
    from conftest import ANSIBLE_DIR
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=ANSIBLE_DIR, ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR='1')
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(tmp_path), universal_newlines=True)


def test_role_writes_hvctl_conf_root_0644_and_is_idempotent(tmp_path):
    import pytest
    import stat
    if os.geteuid() != 0:
        pytest.skip('the role makes the file root:root: run as root')
    conf = tmp_path / 'etc' / 'hvctl' / 'hvctl.conf'
    extras = tmp_path / 'etc' / 'hvctl' / 'extras.d'
    play = tmp_path / 'play.yml'
    play.write_text('''
- hosts: localhost
  gather_facts: false
  roles:
    - role: hvctl.hvctl.hvctl
      hvctl_deb_path: /nonexistent.deb
      hvctl_conf_path: %s
      hvctl_extras_dir: %s
      hvctl_hook_env: {ENABLED_SERVICES: hello}
''' % (conf, extras))
    for expect_changed in (3, 0):
        proc = ansible(tmp_path, '-c', 'local', '-i', 'localhost,', '--tags', 'hvctl_config', str(play))
        assert proc.returncode == 0, proc.stdout
        assert 'changed=%d' % expect_changed in proc.stdout, proc.stdout
    st = os.stat(str(conf))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644)
    assert sections(conf.read_text())['hook_env'] == {'ENABLED_SERVICES': 'hello'}
    # hvctl requires the extras.d directory hvctl.conf names: the role makes it, root's 0755.
    st = os.stat(str(extras))
    assert stat.S_ISDIR(st.st_mode) and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o755)
    assert sections(conf.read_text())['DEFAULT']['extras_dir'] == str(extras)


def test_readme_playbook_is_the_fleet_playbook_and_valid(tmp_path):
    from conftest import ANSIBLE_DIR
    readme = os.path.join(os.path.dirname(ROLE), '..', 'README.md')
    with open(readme) as f:
        text = f.read()
    playbook = text.split('```yaml\n', 1)[1].split('```', 1)[0]
    fleet = os.path.join(os.path.dirname(ANSIBLE_DIR), 'examples', 'fleet', 'playbook.yml')
    with open(fleet) as f:
        assert playbook == f.read()
    (tmp_path / 'hosts.ini').write_text('[ci_hosts]\nh1\nh2\nh3\n')
    proc = ansible(tmp_path, '-i', 'hosts.ini', '--syntax-check', fleet)
    assert proc.returncode == 0, proc.stdout
