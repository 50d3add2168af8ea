"""A write-back keeps a file's permissions, and gives a new file what any other program would: the
temporary file's own 0600 made an operator's 0644 config unreadable to a deploy user reading the tree."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

from app.configstore.tree import ConfigTree


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_written_file_keeps_its_permissions_and_a_new_one_follows_the_umask(tmp_path):
    tree = ConfigTree(tmp_path)
    shared, group = tmp_path / "iac/dev/vpc/a/config.json", tmp_path / "iac/dev/vpc/b/config.json"
    for path, mode in ((shared, 0o644), (group, 0o664)):
        path.parent.mkdir(parents=True)
        path.write_text('{"cidr_block": "10.0.0.0/16"}\n')
        os.chmod(path, mode)
    assert tree.write(shared, {"cidr_block": "10.1.0.0/16"}) and tree.write(group, {"cidr_block": "10.2.0.0/16"})
    assert (_mode(shared), _mode(group)) == (0o644, 0o664)
    old = os.umask(0o022)
    try:
        new = tmp_path / "iac/dev/vpc/c/config.json"
        assert tree.write(new, {"cidr_block": "10.3.0.0/16"})
    finally:
        os.umask(old)
    assert _mode(new) == 0o644
    assert sorted(p.name for p in new.parent.iterdir()) == ["config.json"]  # no temporary file left


def _git_calls(monkeypatch) -> list:
    """The git commands ConfigTree runs from here on (the real git still runs them)."""
    calls: list = []
    real = ConfigTree.git

    def counted(self, *args, **kwargs):
        calls.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ConfigTree, "git", counted)
    return calls


def _init(path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)


def test_the_work_tree_is_asked_of_git_once_and_again_when_the_repository_moves(tmp_path, monkeypatch):
    repo, store = tmp_path / "repo", tmp_path / "repo/config"
    _init(repo)
    store.mkdir()
    calls = _git_calls(monkeypatch)
    top = os.path.realpath(repo)
    assert ConfigTree(store).work_tree() == top and len(calls) == 1
    assert ConfigTree(store).work_tree() == top and ConfigTree(store).work_tree() == top
    assert len(calls) == 1  # every later delivery: no git process
    _init(store)  # a repository made inside it: git finds that one now
    assert ConfigTree(store).work_tree() == os.path.realpath(store)
    shutil.rmtree(store / ".git")
    assert ConfigTree(store).work_tree() == top
    shutil.rmtree(repo / ".git")  # no longer in git
    assert ConfigTree(store).work_tree() is None
    shutil.rmtree(repo)
    assert ConfigTree(store).work_tree() is None  # moved away
    _init(repo)  # re-cloned where it was
    store.mkdir()
    assert ConfigTree(store).work_tree() == top
