"""Login through the bureau's OIDC provider (st.login): role and scope from the users file, 8-hour sessions."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from kongchuo_metrics import auth
from tests.app.conftest import metric
from tests.conftest import ROOT, sample_data_with

SANLI = "sanli@jyj.example.gov.cn"


@pytest.fixture
def oidc(tmp_path, monkeypatch):
    data = sample_data_with(tmp_path, "oidc_provider", "default")
    users = tmp_path / "users.json"
    auth.add_user(users, SANLI, "unused-password-1", "township", townships=("三里镇",))
    auth.add_user(users, "left@jyj.example.gov.cn", "unused-password-1", "county_admin")
    auth.disable_user(users, "left@jyj.example.gov.cn")
    monkeypatch.setenv("KONGCHUO_DATA", str(data))
    monkeypatch.setenv("KONGCHUO_USERS", str(users))
    return tmp_path


OIDC_SECRETS = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "kongchuo",
    "client_secret": "test-client-secret",
    "server_metadata_url": "https://idp.example.gov.cn/.well-known/openid-configuration",
}


def run_as(user: dict, secrets: dict | None = OIDC_SECRETS) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.user = user
    if secrets:
        at.secrets["auth"] = secrets
    return at.run()


def shows_no_data(at: AppTest) -> bool:
    return not at.metric and not at.dataframe and not at.get("plotly_chart")


def test_logged_out_sees_only_the_login_button(oidc):
    at = run_as({"is_logged_in": False})
    assert not at.exception
    assert at.title[0].value == "控辍保学数据看板 · 登录"
    assert [b.label for b in at.button] == ["统一身份认证登录"]
    assert shows_no_data(at)


def test_missing_provider_configuration_is_explained(oidc):
    at = run_as({"is_logged_in": False}, secrets=None)
    assert not at.exception
    assert any("secrets.toml 中没有 [auth] 配置" in e.value for e in at.error)
    assert not at.button and shows_no_data(at)


@pytest.mark.parametrize("issued", [60, None])  # seconds ago; None: the provider sent no iat claim
def test_identity_from_the_provider_gets_its_role_and_scope(oidc, isolated, issued):
    user = {"is_logged_in": True, "email": SANLI}
    if issued is not None:
        user["iat"] = int(time.time()) - issued
    at = run_as(user)
    assert not at.exception
    assert metric(at, "在册辍学人数") == "6"  # 三里镇 alone; the county shows 25
    assert at.multiselect(key="tsp").options == ["三里镇"]
    log = (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"event": "login"' in log and '"method": "oidc"' in log and SANLI in log


@pytest.mark.parametrize("email", ["stranger@example.com", "left@jyj.example.gov.cn", None])
def test_unknown_or_disabled_identity_sees_nothing(oidc, email):
    at = run_as({"is_logged_in": True, "email": email, "iat": int(time.time())})
    assert not at.exception
    assert any("未在本看板登记或已停用" in e.value for e in at.error)
    assert shows_no_data(at)


def test_session_older_than_eight_hours_must_log_in_again(oidc):
    at = run_as({"is_logged_in": True, "email": SANLI, "iat": int(time.time()) - 9 * 3600})
    assert any("超过 8 小时" in w.value for w in at.warning)
    assert shows_no_data(at)


def test_logout_ends_the_provider_session(oidc, isolated):
    at = run_as({"is_logged_in": True, "email": SANLI, "iat": int(time.time())})
    assert metric(at, "在册辍学人数") == "6"
    # after its first run AppTest re-runs the page file alone, which draws the sidebar (and this button)
    # under another widget id; one plain run first, so the click reaches the button the next run draws
    at.run()
    at.button(key="logout").click().run()
    assert at.title[0].value == "控辍保学数据看板 · 登录" and shows_no_data(at)
    assert '"event": "logout"' in (isolated / "audit" / "audit.jsonl").read_text(encoding="utf-8")
