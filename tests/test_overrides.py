"""A mistyped override gets our message, naming it and listing the keys or choices allowed."""

from __future__ import annotations

import sys

import pytest

from seqtasks.__main__ import main
from seqtasks.training.overrides import check_overrides
from seqtasks.training.run import ConfigError

TASK_KEYS = "['encoding', 'framing', 'lag', 'length', 'name', 'position', 'vocab']"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.lga=3", f"task.lga=3: task (echo) has no key 'lga': allowed task keys are "
                       f"{TASK_KEYS} (+task.lga=... adds a key the config does not have)"),
        ("trainer.max_step=9", "trainer.max_step=9: trainer has no key 'max_step': allowed trainer "
                               "keys are ['accelerator', 'deterministic', 'devices', "),
        ("model.hiden_size=8", "model.hiden_size=8: model (lstm) has no key 'hiden_size': allowed "
                               "model keys are ['dropout', 'embedding_size', 'forget_bias', "),
        ("dat.batch_size=8", "dat.batch_size=8: the config has no section 'dat': top-level keys "
                             "are ['callbacks', 'checkpoint', 'ckpt_path', "),
        ("lga=3", "lga=3: top-level has no key 'lga': allowed top-level keys are ['callbacks', "),
        ("~sed", "~sed: top-level has no key 'sed': allowed top-level keys are ['callbacks', "),
        ("trainer.max_epochs=2", "trainer.max_epochs=2: trainer.max_epochs is set by the harness "
                                 "itself: training runs until trainer.max_steps, "),
        ("model=lstn", "model=lstn: no such model: choose one of ['custom', 'gru', "),
        ("logger=null", "logger=null: logger is a config group: choose one of ['csv', "),
    ],
)  # fmt: skip
def test_seqtasks_train_refuses_a_mistyped_override_listing_what_is_allowed(
    monkeypatch, capsys, override, message
):
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    with pytest.raises(SystemExit) as stopped:
        main(["train", "task=echo", override])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}"), err
    assert "is not in struct" not in err and "HYDRA_FULL_ERROR" not in err


def test_a_mistyped_key_after_an_experiment_lists_that_experiments_keys():
    with pytest.raises(ConfigError, match=r"task \(adding\) has no key 'lenght'.*'vary_length'"):
        check_overrides(["experiment=paper_4", "task.lenght=50"])


@pytest.mark.parametrize(
    "args",
    [
        ["task=echo", "task.lag=1", "+trainer.num_sanity_val_steps=0", "hydra.run.dir=/tmp/x"],
        ["--cfg", "job", "task=classify", "~logger", "model=gru", "model.hidden_size=8"],
        ["-m", "task.lga=1,2"],  # a multirun is composed by Hydra's sweeper: left to Hydra
        ["task.lag=[1"],  # a syntax error: Hydra's message points at it
    ],
)
def test_what_hydra_accepts_or_reports_itself_passes(args):
    check_overrides(args)


@pytest.mark.parametrize(
    ("typo", "message"),
    [
        ("task.lga=3", "task.lga=3: task (echo) has no key 'lga'"),
        ("model.net.width=64", "model.net.width=64: model.net has no key 'width': allowed "
                               "model.net keys are ['_target_'] (+model.net.width=... adds"),
    ],
)  # fmt: skip
def test_a_custom_model_does_not_hide_the_key_at_fault(typo, message):
    # model.net._target_ is ??? in the config until the command line sets it: still a key
    with pytest.raises(ConfigError) as refused:
        check_overrides(["task=echo", "model=custom", "model.net._target_=pkg.Net", typo])
    assert str(refused.value).startswith(message), refused.value


def test_a_search_path_adds_choices_the_package_does_not_list(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "mine.yaml").write_text("defaults:\n  - lstm\n  - _self_\n")
    searched = [f"hydra.searchpath=[file://{tmp_path}]", "model=mine"]
    check_overrides(searched)  # composes
    with pytest.raises(ConfigError, match=r"task.lga=1: task \(classify\) has no key 'lga'"):
        check_overrides([*searched, "task.lga=1"])
