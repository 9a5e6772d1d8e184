"""Templates are data, checked completely when loaded; a deployer's file replaces ours."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from leasekit.domain.business import BusinessType
from leasekit.errors import ConfigurationError
from leasekit.render import load_template
from leasekit.render.templates import DISCLOSURE_ITEMS

PACKAGED = Path(str(resources.files("leasekit.render") / "templates"))
"""The installed templates, so that a file left out of the wheel fails here."""
LANGUAGES = ("en", "zh")


def _packaged(business_type: BusinessType, language: str) -> dict[str, object]:
    text = (PACKAGED / f"{business_type.value}.{language}.json").read_text(encoding="utf-8")
    data: dict[str, object] = json.loads(text)
    return data


def _override(tmp_path: Path, data: object, name: str = "loan.en.json") -> Path:
    (tmp_path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("business_type", list(BusinessType))
def test_every_packaged_template_loads(business_type: BusinessType, language: str) -> None:
    template = load_template(business_type, language)

    assert (template.business_type, template.language) == (business_type, language)
    assert template.clauses
    for convention, keys in DISCLOSURE_ITEMS.items():
        assert [item.key for item in template.disclosures[convention].items] == list(keys)


def test_packaged_files_are_exactly_the_four_types_in_two_languages() -> None:
    expected = {f"{kind.value}.{language}.json" for kind in BusinessType for language in LANGUAGES}
    assert {path.name for path in PACKAGED.iterdir()} == expected


def test_a_deployer_file_of_the_same_name_wins(tmp_path: Path) -> None:
    data = _packaged(BusinessType.LOAN, "en")
    data["title"] = "Retail Instalment Contract {number}"
    template = load_template("loan", "en", override_dir=_override(tmp_path, data))

    assert template.title == "Retail Instalment Contract {number}"
    assert template.source == str(tmp_path / "loan.en.json")


def test_the_packaged_file_serves_when_the_override_dir_lacks_it(tmp_path: Path) -> None:
    template = load_template(BusinessType.OPERATING_LEASE, "zh", override_dir=tmp_path)
    assert template.title == "汽车经营租赁合同"


def test_a_missing_template_names_the_type_language_and_places(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_template(BusinessType.LOAN, "fr", override_dir=tmp_path)

    message = str(caught.value)
    assert "'loan'" in message
    assert "'fr'" in message
    assert str(tmp_path / "loan.fr.json") in message
    assert "templates/loan.fr.json" in message


def test_an_unknown_business_type_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="known: loan, finance_lease"):
        load_template("hire_purchase", "en")


def test_a_language_that_is_not_a_tag_is_refused_before_any_path_is_built() -> None:
    with pytest.raises(ConfigurationError, match="not a language tag"):
        load_template(BusinessType.LOAN, "../../etc/passwd")


def test_an_unknown_placeholder_is_a_fault_of_the_file_when_loaded(tmp_path: Path) -> None:
    data = _packaged(BusinessType.LOAN, "en")
    data["clauses"] = ["The Borrower pays {montly_payment} each month."]

    with pytest.raises(ConfigurationError) as caught:
        load_template("loan", "en", override_dir=_override(tmp_path, data))

    message = str(caught.value)
    assert str(tmp_path / "loan.en.json") in message
    assert "clauses[0]" in message
    assert "{montly_payment}" in message


@pytest.mark.parametrize(
    ("title", "fault"),
    [
        ("Contract {number:>10}", "takes no format"),
        ("Contract {number!r}", "takes no format"),
        ("Contract {number", "bad braces"),
        ("Contract {terms.principal}", "unknown placeholder"),
    ],
)
def test_placeholders_are_plain_names(tmp_path: Path, title: str, fault: str) -> None:
    data = _packaged(BusinessType.LOAN, "en")
    data["title"] = title

    with pytest.raises(ConfigurationError, match=fault):
        load_template("loan", "en", override_dir=_override(tmp_path, data))


def test_doubled_braces_print_a_brace(tmp_path: Path) -> None:
    data = _packaged(BusinessType.LOAN, "en")
    data["title"] = "Contract {{draft}} {number}"
    assert load_template("loan", "en", override_dir=_override(tmp_path, data)).title


def test_a_missing_key_is_named_with_its_section(tmp_path: Path) -> None:
    data = _packaged(BusinessType.LOAN, "en")
    labels = data["labels"]
    assert isinstance(labels, dict)
    del labels["vin"]

    with pytest.raises(ConfigurationError) as caught:
        load_template("loan", "en", override_dir=_override(tmp_path, data))

    assert str(tmp_path / "loan.en.json") in str(caught.value)
    assert "labels: missing key(s) vin" in str(caught.value)


def test_a_misspelt_key_is_a_fault_not_ignored(tmp_path: Path) -> None:
    data = _packaged(BusinessType.LOAN, "en")
    data["clause"] = data.pop("clauses")

    with pytest.raises(ConfigurationError, match="missing key"):
        load_template("loan", "en", override_dir=_override(tmp_path, data))


def test_a_missing_disclosure_description_is_named(tmp_path: Path) -> None:
    data = _packaged(BusinessType.LOAN, "en")
    disclosures = data["disclosures"]
    assert isinstance(disclosures, dict)
    del disclosures["eu"]["items"]["apr"]["description"]

    with pytest.raises(ConfigurationError, match=r"disclosures\.eu\.items\.apr: missing"):
        load_template("loan", "en", override_dir=_override(tmp_path, data))


def test_bad_json_names_the_file(tmp_path: Path) -> None:
    shutil.copy(PACKAGED / "loan.en.json", tmp_path / "loan.en.json")
    path = tmp_path / "loan.en.json"
    path.write_text(path.read_text(encoding="utf-8")[:-10], encoding="utf-8")

    with pytest.raises(ConfigurationError) as caught:
        load_template("loan", "en", override_dir=tmp_path)

    assert str(path) in str(caught.value)
    assert "not valid JSON" in str(caught.value)
