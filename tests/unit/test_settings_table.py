"""The README's settings table is the one made from the settings themselves."""
from siaga.settings_table import README, table, with_table


def test_the_readme_lists_every_setting_as_the_settings_say():
    readme = README.read_text()
    assert with_table(readme) == readme, "README.md's settings table is stale: python -m siaga.settings_table --write"


def test_every_variable_of_every_config_yml_has_a_row():
    for variable in ("DISPATCH_MAX_TRIES", "CONSOLE_LOCK_MINUTES", "NOTIFY_SMS_MAX_ATTEMPTS", "OPEN311_API_KEYS",
                     "SIAGA_INSTANCE", "CONSOLE_HTTP_ADDRESS"):
        assert f"`{variable}`" in table()


def test_the_table_reads_config_yml_as_written_once_nameko_parses_yaml_too():
    from nameko.cli.main import setup_yaml_parser
    before = table()
    setup_yaml_parser()  # what any service_config() call does: ${VAR:default} is then substituted by safe_load
    assert table() == before
