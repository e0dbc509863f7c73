"""The pages blueprint: sign-in by token into the session cookie, CSRF on every form, the
API's role rules, and errors answered as pages rather than JSON."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from typing import Any, Callable, TypeVar

from flask import Blueprint, Response, g, get_flashed_messages, redirect, render_template, request, session, url_for
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException

from blacklist.errors import ConflictError, DomainError, NotFoundError, PreconditionError
from blacklist.models import Token
from blacklist.tokens import has_role
from web.auth import Caller
from web.context import services

bp = Blueprint("pages", __name__)
log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

ROLE_NAMES = {"officer": "经办人员", "system": "系统对接", "regulator": "监管部门", "admin": "管理员"}


def csrf_token() -> str:
    """The session's form token, made on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def sign_in(token: Token) -> None:
    """A fresh session for this token (nothing of the visitor's session carries over)."""
    session.clear()
    session.permanent = True
    session["uid"] = token.id
    csrf_token()


def sign_out() -> None:
    """Forget the session, its form token included."""
    session.clear()


def page_user() -> Caller | None:
    """The signed-in token's holder; a revoked token signs the session out."""
    if "page_user" in g:
        return g.page_user  # type: ignore[no-any-return]
    user = None
    uid = session.get("uid")
    if isinstance(uid, int):
        # A short read of its own: a POST's session would take SQLite's write lock for the request.
        with services().readers() as reader:
            token = reader.get(Token, uid)
        if token is not None and token.revoked_at is None:
            user = Caller(token.id, token.name, token.role)
        else:
            session.pop("uid", None)
    g.page_user = user
    return user


@bp.before_request
def _load_user_and_check_csrf() -> None:
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf", "")
        if not sent or not expected or not hmac.compare_digest(str(sent), str(expected)):
            raise BadRequest("表单已过期或来源不明（CSRF 校验未通过）。请刷新页面后重新提交。")
    # The API's helpers (current_caller) see the page user, never a stray bearer header.
    g.caller = page_user()


def require_role(role: str) -> Callable[[F], F]:
    """Send a visitor to sign in; refuse (403) a token whose role is not enough, as the API does."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = page_user()
            if user is None:
                return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
            if not has_role(user.role, role):
                raise Forbidden(f"此页面需要“{ROLE_NAMES[role]}”（{role}）角色；当前令牌“{user.name}”的角色是"
                                f"“{ROLE_NAMES.get(user.role, user.role)}”（{user.role}）。")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


@bp.context_processor
def _globals() -> dict[str, Any]:
    from web.pages.labels import EFFECTS

    return {"current_user": page_user, "csrf_token": csrf_token, "role_names": ROLE_NAMES, "effects": EFFECTS,
            "flashed": get_flashed_messages}


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"pages/{template}", **context), status


def domain_status(exc: DomainError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    return 422


_TITLES = {400: "请求有误", 401: "需要登录", 403: "无权访问", 404: "未找到", 405: "不支持的操作",
           409: "与当前状态冲突", 413: "文件过大", 422: "内容有误", 429: "请求过于频繁", 500: "系统错误"}


def _error_page(status: int, message: str) -> Response:
    body = render_template("pages/error.html", status=status, title=_TITLES.get(status, "出错了"),
                           message=message)
    return Response(body, status=status, mimetype="text/html")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = exc.description or ""
    if status == 413:
        message = "上传的文件超过了允许的大小。"
    elif status == 429:
        message = "请求过于频繁，请稍后再试。"
    elif status in (404, 405) and (not message or message.startswith("The ")):
        message = "没有这个页面或操作。"
    response = _error_page(status, message)
    if status == 429:
        response.headers["Retry-After"] = "60"
    return response


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    return _error_page(domain_status(exc), str(exc))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("page failed")
    return _error_page(500, "系统出错，已记录。请稍后再试。")


__all__ = ["bp", "render", "require_role", "page_user", "csrf_token", "sign_in", "sign_out",
           "domain_status", "PreconditionError"]
