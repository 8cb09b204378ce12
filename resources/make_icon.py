"""Draw the app icon, resources/icon.png: the 2x2 checkerboard decode order "1 2 / 3 4" of Phase 5.

Run from the repository root: ``python resources/make_icon.py`` (needs only Pillow). The PNG is
committed, so builds do not run this; rerun it only to change the icon. PyInstaller turns the PNG
into the executable's icon where the platform has one (Windows .ico, macOS .icns).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 256
OUT = Path(__file__).resolve().parent / "icon.png"
BACKGROUND = (24, 30, 46)
# one colour per checkerboard group, coded in this order: LL-ish blue first, then warmer
GROUPS = [(66, 133, 244), (52, 168, 83), (251, 188, 5), (234, 67, 53)]


def draw(size: int = SIZE) -> Image.Image:
    scale = 4  # draw large, then downsample: smooth edges without relying on antialiasing support
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([0, 0, s - 1, s - 1], radius=s // 6, fill=BACKGROUND + (255,))
    margin, gap = s // 9, s // 28
    cell = (s - 2 * margin - gap) // 2
    font = ImageFont.load_default(size=int(cell * 0.62))
    for k, color in enumerate(GROUPS):
        r, c = divmod(k, 2)
        x0, y0 = margin + c * (cell + gap), margin + r * (cell + gap)
        d.rounded_rectangle([x0, y0, x0 + cell, y0 + cell], radius=cell // 7, fill=color + (255,))
        d.text((x0 + cell / 2, y0 + cell / 2), str(k + 1), font=font, fill=(255, 255, 255, 255), anchor="mm")
    return img.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    draw().save(OUT, optimize=True)
    print(f"wrote {OUT}")
