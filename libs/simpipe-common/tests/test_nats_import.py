import subprocess
import sys
import textwrap


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_nats_is_imported_without_aiohttp_which_stays_importable() -> None:
    out = run(
        """
        import sys
        import simpipe_common.event_broker
        print("nats" in sys.modules, "aiohttp" in sys.modules)
        import aiohttp
        print(aiohttp.ClientSession.__name__)
        """
    )
    assert out.splitlines() == ["True False", "ClientSession"]


def test_an_aiohttp_imported_before_is_left_to_nats() -> None:
    out = run(
        """
        import aiohttp
        import simpipe_common.event_broker
        import nats.aio.transport
        print(nats.aio.transport.aiohttp is aiohttp)
        """
    )
    assert out == "True"
