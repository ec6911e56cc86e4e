"""Reads wangge's OGC API - Features with OWSLib, as a GIS script would.

Usage: owslib_client.py BASE_URL TOKEN BBOX
  BASE_URL  the OGC root, e.g. http://127.0.0.1:8080/ogc
  TOKEN     an API token (sent as Authorization: Bearer)
  BBOX      minlon,minlat,maxlon,maxlat for the households bbox query

Prints one JSON object of what OWSLib saw; tests/e2e/ogc.rs checks the
figures against the server's own API.
"""

import json
import sys

from owslib.ogcapi.features import Features


def main():
    base, token, bbox = sys.argv[1], sys.argv[2], sys.argv[3]
    # OWSLib joins relative paths onto the URL: the root needs its slash.
    w = Features(base.rstrip("/") + "/", headers={"Authorization": f"Bearer {token}"})
    out = {
        "landing_rels": sorted(link["rel"] for link in w.links),
        "conformance": w.conformance()["conformsTo"],
        "feature_collections": w.feature_collections(),
        "api_paths": sorted(p for p in w.api()["paths"] if p.startswith("/ogc")),
    }
    collections = {}
    for c in w.collections()["collections"]:
        one = w.collection(c["id"])
        page = w.collection_items(c["id"], limit=5)
        collections[c["id"]] = {
            "crs": one["crs"],
            "bbox": one.get("extent", {}).get("spatial", {}).get("bbox"),
            "numberMatched": page["numberMatched"],
            "numberReturned": page["numberReturned"],
            "features": len(page["features"]),
            "rels": sorted(link["rel"] for link in page["links"]),
        }
    out["collections"] = collections

    box = [float(x) for x in bbox.split(",")]
    hits = w.collection_items("households", bbox=box, limit=3)
    out["bbox"] = {
        "numberMatched": hits["numberMatched"],
        "numberReturned": hits["numberReturned"],
        "inside": all(
            box[0] <= f["geometry"]["coordinates"][0] <= box[2]
            and box[1] <= f["geometry"]["coordinates"][1] <= box[3]
            for f in hits["features"]
        ),
    }

    # Page through all households with limit and offset, as OWSLib does.
    ids, offset = [], 0
    while True:
        page = w.collection_items("households", limit=250, offset=offset)
        ids.extend(f["id"] for f in page["features"])
        if page["numberReturned"] == 0 or "next" not in {l["rel"] for l in page["links"]}:
            break
        offset += page["numberReturned"]
    out["paged_households"] = {"count": len(ids), "distinct": len(set(ids))}

    first = ids[0]
    one = w.collection_item("households", str(first))
    out["item"] = {"asked": first, "got": one["id"], "type": one["type"]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
