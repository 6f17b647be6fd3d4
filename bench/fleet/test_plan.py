"""The fleet's inputs as a user writes them: accepted, or refused with a sentence naming them."""

import pytest

from fleet.plan import MARKDOWN_END, MARKDOWN_START, Refused, Size, check_markdown, from_environment, parse_sizes


def fleets(**env) -> list[str]:
    return [str(s) for s in from_environment(env)]


def refusal(**env) -> str:
    with pytest.raises(Refused) as refused:
        from_environment(env)
    return str(refused.value)


def test_defaults_and_counts():
    assert from_environment({}) == [Size(10, ("us-east-1", "eu-west-1"))]
    assert fleets(FLEET_ACCOUNTS="3", FLEET_REGIONS="1") == ["3x1"]
    assert fleets(FLEET_SIZES="3x2,10x2, 25X2") == ["3x2", "10x2", "25x2"]


def test_region_names():
    assert from_environment({"FLEET_REGIONS": "us-east-1,eu-west-1"}) == [Size(10, ("us-east-1", "eu-west-1"))]
    assert fleets(FLEET_REGIONS="ap-southeast-2 ca-central-1") == ["10xap-southeast-2+ca-central-1"]
    assert fleets(FLEET_SIZES="3xus-east-1+mx-central-1") == ["3xus-east-1+mx-central-1"]


def test_what_plan_prints_is_what_the_driver_reads():
    for env in ({"FLEET_REGIONS": "eu-west-1,us-east-1"}, {"FLEET_SIZES": "3x2,4x6"}, {"FLEET_ACCOUNTS": "5"}):
        sizes = from_environment(env)
        assert parse_sizes(",".join(str(s) for s in sizes)) == sizes


@pytest.mark.parametrize(
    "env, words",
    [
        ({"FLEET_ACCOUNTS": "abc"}, "FLEET_ACCOUNTS=abc: give a number of accounts, 3 or more"),
        ({"FLEET_ACCOUNTS": "2"}, "FLEET_ACCOUNTS=2: give a number of accounts, 3 or more"),
        ({"FLEET_REGIONS": "7"}, "FLEET_REGIONS=7: a count of regions is 1 to 6"),
        ({"FLEET_REGIONS": "0"}, "FLEET_REGIONS=0: a count of regions is 1 to 6"),
        ({"FLEET_REGIONS": "us-east-1,eu-west-9"}, "eu-west-9 is not a region CloudFormation has"),
        ({"FLEET_REGIONS": "us-east-1,us-east-1"}, "each region once"),
        ({"FLEET_REGIONS": ","}, "give a number of regions or their names"),
        ({"FLEET_SIZES": "3x2", "FLEET_REGIONS": "1"}, "set it alone, or FLEET_ACCOUNTS and FLEET_REGIONS"),
        ({"FLEET_SIZES": "3"}, "FLEET_SIZES=3: 3 is not ACCOUNTSxREGIONS"),
        ({"FLEET_SIZES": "3xus-east-1,eu-west-1"}, "eu-west-1 is not ACCOUNTSxREGIONS"),
        ({"FLEET_SIZES": "2x2"}, "in 2x2, ACCOUNTS=2: give a number of accounts, 3 or more"),
        ({"FLEET_SIZES": ","}, "FLEET_SIZES=,: give ACCOUNTSxREGIONS"),
    ],
)
def test_refused_in_words(env, words):
    assert words in refusal(**env)


def test_markdown(tmp_path):
    check_markdown(str(tmp_path / "new.md"))
    (tmp_path / "FLEET.md").write_text(f"# Fleet\n{MARKDOWN_START}\nold figures\n{MARKDOWN_END}\nmore\n")
    check_markdown(str(tmp_path / "FLEET.md"))
    (tmp_path / "README.md").write_text(f"# Readme\n{MARKDOWN_END}\n{MARKDOWN_START}\n")
    for path, words in [
        (tmp_path, "is a directory"),
        (tmp_path / "no-such-dir/FLEET.md", "there is no directory"),
        (tmp_path / "README.md", "has no lines"),
    ]:
        with pytest.raises(Refused, match=words):
            check_markdown(str(path))
