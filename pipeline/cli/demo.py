"""``waspada demo-site``: serve the bundled demo job board that ``make demo`` scrapes."""

from __future__ import annotations

import click


@click.command("demo-site")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free port).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Loopback address to bind; other hosts are refused.")  # fmt: skip
def demo_site(port: int, host: str) -> None:
    """Serve the demo job board (fictional ads) on loopback until Ctrl-C.

    Three sources: a job board with JSON-LD at /jobs/, a lowongan blog with an RSS feed at
    /blog/feed/, and a Telegram-style channel preview at /s/<channel>. Labels are never served.

    \b
    Example:
        waspada demo-site
        waspada demo-site --port 9000
    """
    from pipeline.demo_site import TELEGRAM_CHANNEL, is_loopback, make_server

    if not is_loopback(host):
        raise click.BadParameter(
            f"{host} is not a loopback address; the demo site only serves on "
            "127.0.0.1, ::1 or localhost",
            param_hint="--host",
        )
    server = make_server(host=host, port=port)
    base = server.base_url
    click.echo(f"Demo site on {base}/  (jobs: {base}/jobs/  blog feed: {base}/blog/feed/  "
               f"telegram: {base}/s/{TELEGRAM_CHANNEL})")  # fmt: skip
    click.echo("Press Ctrl-C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()


COMMANDS = [demo_site]
