"""Build the coastline of the web page's map, ``offers_api/web/static/coast.json``.

Source: Natural Earth's 1:10m land polygons (version 4.1.0; public domain, see
https://www.naturalearthdata.com/about/terms-of-use/), as the TopoJSON file
``land-10m.json`` of the npm package ``world-atlas`` 2.0.2 (ISC licence, Mike Bostock).
At 1:50m the small islands of the Tuscan Archipelago and La Maddalena are missing
(Elba is there, Capraia, Giglio and Pianosa are not); at 1:10m they are all drawn.

The land is clipped to the seas of the network (lon 7.0 to 13.5, lat 38.5 to 45.0),
simplified (Douglas-Peucker, topology kept), islets below a few km2 dropped and the
coordinates rounded to 4 decimals (about 10 m)::

    python scripts/coastline.py                      # fetches world-atlas with npm pack
    python scripts/coastline.py --source land-10m.json --out coast.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

PACKAGE = "world-atlas@2.0.2"
SOURCE_FILE = "land-10m.json"
BBOX = (7.0, 38.5, 13.5, 45.0)
"""West, south, east, north, in degrees."""
TOLERANCE_DEG = 0.003
MIN_AREA_DEG2 = 0.0003
"""Islets smaller than this (about 2.5 km2 at these latitudes) are left out."""
DECIMALS = 4
OUT = Path(__file__).resolve().parent.parent / "offers_api" / "web" / "static" / "coast.json"

SOURCE_TEXT = (
    "Natural Earth 1:10m land polygons, version 4.1.0 "
    "(https://www.naturalearthdata.com/downloads/10m-physical-vectors/), "
    f"as land-10m.json of the npm package {PACKAGE}; clipped, simplified by "
    "scripts/coastline.py"
)
LICENCE_TEXT = (
    "Natural Earth data: public domain (https://www.naturalearthdata.com/about/terms-of-use/); "
    "world-atlas packaging: ISC licence, Copyright 2013-2019 Michael Bostock"
)

Ring = list[tuple[float, float]]


def fetch_source(workdir: Path) -> Path:
    """``land-10m.json`` unpacked from the world-atlas package (``npm pack``)."""
    subprocess.run(
        ["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True, stdout=subprocess.DEVNULL
    )
    tarball = next(workdir.glob("world-atlas-*.tgz"))
    with tarfile.open(tarball) as archive:
        member = archive.getmember(f"package/{SOURCE_FILE}")
        archive.extractall(workdir, members=[member], filter="data")
    return workdir / "package" / SOURCE_FILE


def decoded_arcs(topology: dict[str, Any]) -> list[Ring]:
    """The arcs of a quantized TopoJSON topology, in degrees (lon, lat)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs: list[Ring] = []
    for arc in topology["arcs"]:
        x = y = 0
        points: Ring = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_of(arcs: list[Ring], indexes: list[int]) -> Ring:
    """A ring from arc indexes (a negative index ``~i`` is arc ``i`` reversed)."""
    ring: Ring = []
    for index in indexes:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points if not ring else points[1:])
    return ring


def land_polygons(topology: dict[str, Any]) -> Iterator[Polygon]:
    arcs = decoded_arcs(topology)
    for geometry in topology["objects"]["land"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for rings in polygons:
            shell, *holes = (ring_of(arcs, ring) for ring in rings)
            yield Polygon(shell, holes)


def parts(geometry: BaseGeometry) -> Iterator[Polygon]:
    if isinstance(geometry, Polygon):
        yield geometry
    else:
        for part in getattr(geometry, "geoms", ()):
            yield from parts(part)


def rounded(ring: Any) -> list[list[float]]:
    return [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in ring.coords]


def coastline(topology: dict[str, Any]) -> dict[str, Any]:
    """The clipped, simplified land of ``topology``, largest piece first."""
    area = box(*BBOX)
    pieces = [
        piece.simplify(TOLERANCE_DEG, preserve_topology=True)
        for land in land_polygons(topology)
        if land.intersects(area)
        for piece in parts(land.intersection(area))
        if piece.area >= MIN_AREA_DEG2
    ]
    pieces.sort(key=lambda piece: -piece.area)
    return {
        "source": SOURCE_TEXT,
        "licence": LICENCE_TEXT,
        "bbox": list(BBOX),
        "projection": "longitude, latitude in degrees (WGS 84); rings closed, outer first",
        "tolerance_deg": TOLERANCE_DEG,
        "polygons": [
            [rounded(piece.exterior), *(rounded(hole) for hole in piece.interiors)]
            for piece in pieces
            if not piece.is_empty
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help=f"a {SOURCE_FILE} (default: npm pack)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the coastline")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        source = args.source or fetch_source(Path(workdir))
        topology = json.loads(source.read_text(encoding="utf-8"))
    data = coastline(topology)
    text = json.dumps(data, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    points = sum(len(ring) for polygon in data["polygons"] for ring in polygon)
    sys.stderr.write(
        f"{args.out}: {len(data['polygons'])} polygons, {points} points, {len(text):,} bytes\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
