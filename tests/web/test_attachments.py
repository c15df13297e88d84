"""Attachments in the task dialog, in a real browser: file picker and drag-and-drop uploads,
an image preview, a download link, deletion, and another member's dialog following live."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from playwright.async_api import FilePayload, expect

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser
from tests.web.pages import cards, quick_add, shared_project

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


def _png(width: int = 4, height: int = 3) -> bytes:
    """A real (decodable) RGB PNG, so the preview's <img> must actually load."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x40\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_upload_preview_download_delete(make_user: MakeUser, tmp_path: Path) -> None:
    alice, bob, _ = await shared_project(make_user)
    page = alice.page
    await quick_add(page, "Spec")
    await page.locator(cards(page, "todo")).filter(has_text="Spec").click()
    dialog = page.locator("#task-dialog")
    items = dialog.locator("#attachment-list li.attachment")
    await expect(dialog.locator("#attachment-list")).to_contain_text("No files yet.")

    # The file picker.
    picked: FilePayload = {"name": "screen.png", "mimeType": "image/png", "buffer": _png()}
    await dialog.locator("#attachment-input").set_input_files([picked])
    shot = items.filter(has_text="screen.png")
    await expect(shot).to_have_count(1)
    thumb = shot.locator("img.thumb")
    await expect(thumb).to_have_attribute("src", re.compile(r"/content\?disposition=inline$"))
    # The preview really loads (the image is served inline to the board's own page).
    assert await thumb.evaluate("img => img.decode().then(() => img.naturalWidth)") == 4

    # Dropping a file onto the dialog.
    dropped = await page.evaluate_handle(
        """() => {
            const transfer = new DataTransfer();
            transfer.items.add(new File(['meeting notes'], 'notes.txt', {type: 'text/plain'}));
            return transfer;
        }"""
    )
    await dialog.dispatch_event("dragover", {"dataTransfer": dropped})
    await dialog.dispatch_event("drop", {"dataTransfer": dropped})
    notes = items.filter(has_text="notes.txt")
    await expect(notes).to_have_count(1)
    await expect(notes.locator("img")).to_have_count(0)  # no preview for text

    # The download link saves the bytes under the file's name.
    async with page.expect_download() as waiting:
        await notes.locator("a.download").click()
    download = await waiting.value
    assert download.suggested_filename == "notes.txt"
    saved = tmp_path / "notes.txt"
    await download.save_as(saved)
    assert saved.read_bytes() == b"meeting notes"

    # Bob's dialog for the same task lists both, and follows a deletion live.
    await bob.page.locator(cards(bob.page, "todo")).filter(has_text="Spec").click()
    bob_items = bob.page.locator("#task-dialog #attachment-list li.attachment")
    await expect(bob_items).to_have_count(2)
    await notes.get_by_role("button", name="Delete notes.txt").click()
    await expect(items).to_have_count(1)
    await expect(bob_items).to_have_count(1)
    await expect(bob_items.first).to_contain_text("screen.png")
