"""``drift_entry``: what drift.yml reports of one berth task that check mode says would change."""

from __future__ import annotations

from ansible_collections.berth.core.plugins.plugin_utils.engine_action import drift_entry


def _outcome(before: dict, after: dict, actions=("recreate container web (env)",)) -> dict:
    return {"changed": True, "diff": {"before": before, "after": after}, "actions": list(actions)}


def test_a_changed_mapping_is_reported_key_by_key():
    entry = drift_entry("h2", "berth.core.container", {"name": "web"},
                        _outcome({"env": {"A": "1", "B": "2"}}, {"env": {"A": "1", "B": "3", "C": "4"}}))
    assert entry["fields"] == ["env.B", "env.C"]
    assert entry["changes"] == {"env.B": {"before": "2", "after": "3"}, "env.C": {"before": None, "after": "4"}}
    assert (entry["host"], entry["module"], entry["name"], entry["resource"]) == ("h2", "container", "web",
                                                                                  "container web")
    assert entry["summary"] == "h2: container web: env.B '2' -> '3', env.C None -> '4'"


def test_a_missing_resource_differs_by_exists_alone():
    entry = drift_entry("h1", "berth.core.volume", {"name": "data"},
                        _outcome({"exists": False}, {"exists": True, "driver": "local", "labels": {"a": "1"}},
                                 actions=["create volume data"]))
    assert entry["fields"] == ["exists"] and entry["changes"] == {"exists": {"before": False, "after": True}}


def test_values_of_a_no_log_task_are_hidden_but_booleans_and_names_kept():
    entry = drift_entry("h2", "berth.core.container", {"name": "db"},
                        _outcome({"env": {"MYSQL_ROOT_PASSWORD": "old-secret"}, "running": False},
                                 {"env": {"MYSQL_ROOT_PASSWORD": "new-secret"}, "running": True}), no_log=True)
    assert entry["changes"] == {"env.MYSQL_ROOT_PASSWORD": {"before": "HIDDEN", "after": "HIDDEN"},
                                "running": {"before": False, "after": True}}
    assert "secret" not in repr(entry)


def test_without_a_diff_the_actions_say_what_would_change():
    entry = drift_entry("h3", "berth.core.exec", {"container": "web"}, {"changed": True, "actions": ["run x"]})
    assert entry["name"] == "web" and entry["fields"] == [] and entry["summary"] == "h3: exec web: run x"
