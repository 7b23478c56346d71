"""The Flask CLI: ``flask --app server <command>`` or ``badgegate-server <command>``."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup
from sqlalchemy import select

from server.extensions import db


def register_commands(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo events, rooms, sessions and logins (idempotent)."""
        from server.auth.api import hash_password
        from server.seed import DEMO_PASSWORD, seed_demo

        result = seed_demo(hash_password(DEMO_PASSWORD))
        db.session.commit()
        click.echo("Demo data created." if result.created else "Demo data already present.")
        width = max(len(email) for email, _e, _r in result.logins)
        click.echo(f"\n{'email':<{width}}  {'password':<8}  {'role':<24}  event")
        click.echo(f"{'-' * width}  {'-' * 8}  {'-' * 24}  {'-' * 26}")
        for email, event, role in result.logins:
            click.echo(f"{email:<{width}}  {DEMO_PASSWORD:<8}  {role:<24}  {event}")

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--password", required=True, prompt=True, hide_input=True)
    @click.option("--first-name", default="")
    @click.option("--last-name", default="")
    @click.option("--username", default=None, help="defaults to the email's local part")
    @click.option("--admin", is_flag=True, help="a platform admin (may create events)")
    def create_user_command(
        email: str,
        password: str,
        first_name: str,
        last_name: str,
        username: str | None,
        admin: bool,
    ) -> None:
        """Create a user account with a badge."""
        from server.auth.api import hash_password
        from server.auth.schemas import MIN_PASSWORD
        from server.badges import ensure_profile
        from server.models import User

        email = email.strip().lower()
        if "@" not in email:
            raise click.BadParameter("not an email address", param_hint="--email")
        if len(password) < MIN_PASSWORD:
            raise click.BadParameter(
                f"must be at least {MIN_PASSWORD} characters", param_hint="--password"
            )
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            raise click.ClickException(f"a user with email {email} already exists")
        user = User(
            username=username or email.split("@")[0],
            email=email,
            first_name=first_name,
            last_name=last_name,
            password_hash=hash_password(password),
            is_admin=admin,
        )
        db.session.add(user)
        db.session.flush()
        profile = ensure_profile(user)
        db.session.commit()
        kind = "platform admin" if admin else "user"
        click.echo(f"created {kind} {user.id} <{email}> with badge {profile.badge_id}")

    @app.cli.command("reset-everything")
    @click.option("--yes", is_flag=True, help="do not ask for confirmation")
    @click.option("--include-admins", is_flag=True, help="delete platform admins' accounts too")
    def reset_everything_command(yes: bool, include_admins: bool) -> None:
        """Delete all data: events, accounts (platform admins kept), kiosks, scans, files."""
        from server.storage import get_storage
        from server.wipe import delete_all_data, delete_stored_files

        where = db.engine.url.render_as_string(hide_password=True)
        if not yes:
            if not _stdin_is_terminal():
                raise click.ClickException(
                    "not deleting anything: there is no terminal to confirm on (pass --yes)"
                )
            kept = "" if include_admins else " (platform admins kept)"
            click.confirm(f"Delete ALL data in {where}{kept}?", abort=True)
        counts = delete_all_data(db.session, keep_admins=not include_admins)
        db.session.commit()
        files = delete_stored_files(get_storage())
        for table, n in sorted(counts.items()):
            click.echo(f"{table:<28} {n:>8} deleted")
        click.echo(f"{'stored files':<28} {files:>8} deleted")
        click.echo(f"All data deleted from {where}.")


def _stdin_is_terminal() -> bool:
    """A person can answer a question (not a pipe, a file or nothing at all)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _create_app() -> Flask:
    from server import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="BadgeGate sync server (the Flask CLI).")


def main() -> None:
    cli()
