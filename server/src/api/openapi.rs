//! `GET /api/openapi.json`: an OpenAPI 3.0 document built from the route
//! table, so it can never list a route the router lacks or miss one it has.
//! Path parameters come from the `{name}` segments; query parameters and
//! request bodies are described here per route.

use axum::Json;
use serde_json::{json, Map, Value};

use super::{route_specs, Access, RouteSpec};
use crate::domain::Layer;

fn path_param(name: &str) -> Value {
    let schema = match name {
        "layer" => {
            json!({ "type": "string", "enum": Layer::ALL.iter().map(|l| l.as_str()).collect::<Vec<_>>() })
        }
        "code" => {
            json!({ "type": "string", "pattern": "^[0-9]{2,12}$", "description": "statistical division code (2-12 digits)" })
        }
        "id" | "household" => json!({ "type": "string", "pattern": "^[0-9]+$" }),
        "source" => {
            json!({ "type": "string", "enum": crate::tiles::Source::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>() })
        }
        "z" | "x" => json!({ "type": "string", "pattern": "^[0-9]+$" }),
        "y" => {
            json!({ "type": "string", "pattern": "^[0-9]+\\.(mvt|pbf)$", "description": "row, then .mvt" })
        }
        "collectionId" => {
            json!({ "type": "string", "enum": crate::ogc::Collection::all().iter().map(|c| c.id).collect::<Vec<_>>(), "description": "a collection: one per layer, water as areas (water) and lines (waterways), and the grids of each region's newest plan version (plan_grids_current) and newest published one (plan_grids_published)" })
        }
        "featureId" => {
            json!({ "type": "string", "description": "the feature's id, unique in its collection (a region's is its code, an atom's its region's code and six digits, a plan grid's its version × 1000000 + level × 100000 + its number in the level)" })
        }
        _ => json!({ "type": "string" }),
    };
    json!({ "name": name, "in": "path", "required": true, "schema": schema })
}

fn query_params(spec: &RouteSpec) -> Vec<Value> {
    let q = |name: &str, schema: Value, description: &str| json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": description });
    let f = || {
        q(
            "f",
            json!({ "type": "string", "enum": ["json"] }),
            "the format: JSON (GeoJSON for features) is the only one",
        )
    };
    match spec.path {
        "/ogc/collections/{collectionId}/items" => vec![
            json!({ "name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
                    "schema": { "type": "array", "minItems": 4, "maxItems": 4, "items": { "type": "number" } },
                    "description": "minlon,minlat,maxlon,maxlat (CRS84): features whose bounding box meets it" }),
            q(
                "limit",
                json!({ "type": "integer", "minimum": 1, "maximum": crate::ogc::MAX_LIMIT, "default": crate::ogc::DEFAULT_LIMIT }),
                "features per page",
            ),
            q(
                "offset",
                json!({ "type": "integer", "minimum": 0, "default": 0 }),
                "features to skip (the next and prev links carry it)",
            ),
            q(
                "datetime",
                json!({ "type": "string" }),
                "accepted for conformance; features carry no time, so it filters nothing",
            ),
            q(
                "version",
                json!({ "type": "integer", "minimum": 1 }),
                "plan_grids_current and plan_grids_published only: this plan version's grids instead of the collection's (404 unknown_plan_version when no such version is in scope)",
            ),
            q(
                "level",
                json!({ "type": "integer", "enum": [1, 2, 3] }),
                "plan_grids_current and plan_grids_published only: grids of this level",
            ),
            f(),
        ],
        "/ogc/collections/{collectionId}/items/{featureId}" => vec![
            q(
                "version",
                json!({ "type": "integer", "minimum": 1 }),
                "plan collections only: the plan version the feature was listed under",
            ),
            f(),
        ],
        p if p.starts_with("/ogc") => vec![f()],
        "/api/changes/stream" => vec![
            q(
                "since",
                json!({ "type": "integer", "minimum": 0 }),
                "start after this change seq (Last-Event-ID wins when both are sent; default: from now)",
            ),
            json!({ "name": "Last-Event-ID", "in": "header", "required": false,
                    "schema": { "type": "integer", "minimum": 0 },
                    "description": "the id of the last event read: a reconnecting client gets what it missed" }),
        ],
        "/api/layers/{layer}" => vec![
            q(
                "bbox",
                json!({ "type": "string" }),
                "minlon,minlat,maxlon,maxlat (WGS-84)",
            ),
            q(
                "limit",
                json!({ "type": "integer", "minimum": 0, "maximum": 10000 }),
                "features per page (default 1000)",
            ),
            q(
                "offset",
                json!({ "type": "integer", "minimum": 0 }),
                "features to skip",
            ),
        ],
        "/api/emergency/nearest" => vec![
            json!({ "name": "lon", "in": "query", "required": true, "schema": { "type": "number", "minimum": -180, "maximum": 180 } }),
            json!({ "name": "lat", "in": "query", "required": true, "schema": { "type": "number", "minimum": -90, "maximum": 90 } }),
            q(
                "k",
                json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
                "how many (default 10)",
            ),
            q(
                "radius_m",
                json!({ "type": "number", "exclusiveMinimum": true, "minimum": 0 }),
                "only within this distance",
            ),
            q(
                "skills",
                json!({ "type": "string" }),
                "required skills, comma separated (all of them)",
            ),
            q("team", json!({ "type": "string" }), "only this team"),
            q(
                "reserve",
                json!({ "type": "string", "enum": ["true", "false", "any"] }),
                "emergency reserve only (default true)",
            ),
            q(
                "by",
                json!({ "type": "string", "enum": ["road", "line"] }),
                "walking distance along roads (default when roads are loaded) or straight line",
            ),
        ],
        "/api/audit" => vec![
            q(
                "user",
                json!({ "type": "string" }),
                "only this user's lines",
            ),
            q(
                "since",
                json!({ "type": "string", "format": "date-time" }),
                "only lines at or after this time",
            ),
            q(
                "limit",
                json!({ "type": "integer", "minimum": 0 }),
                "at most this many lines (≤ 10000)",
            ),
        ],
        _ => vec![],
    }
}

fn area_schema(plan: bool) -> Value {
    let mut props = json!({
        "polygon": { "type": "object", "description": "GeoJSON Polygon or MultiPolygon, WGS-84" },
        "circle": { "type": "object", "required": ["lon", "lat", "radius_m"], "properties": {
            "lon": { "type": "number" }, "lat": { "type": "number" }, "radius_m": { "type": "number" } } },
        "margin_m": { "type": "number" },
        "skills": { "type": "array", "items": { "type": "string" } },
        "team": { "type": "string" }
    });
    if plan {
        for (k, v) in [
            (
                "capacity",
                json!({ "type": "integer", "minimum": 1, "maximum": 100 }),
            ),
            ("max_distance_m", json!({ "type": "number" })),
            (
                "min_care",
                json!({ "type": "integer", "minimum": 0, "maximum": 255 }),
            ),
            ("walk", json!({ "type": "boolean" })),
            (
                "allow_inside",
                json!({ "type": "boolean", "description": "send volunteers inside the area too (default: flagged and left out)" }),
            ),
            (
                "format",
                json!({ "type": "string", "enum": ["json", "geojson", "csv", "html"] }),
            ),
            ("title", json!({ "type": "string" })),
        ] {
            props[k] = v;
        }
    }
    json!({ "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": props } } } })
}

fn request_body(spec: &RouteSpec) -> Option<Value> {
    match spec.path {
        "/api/emergency/area" => return Some(area_schema(false)),
        "/api/emergency/plan" => return Some(area_schema(true)),
        _ => {}
    }
    (spec.path == "/api/login").then(|| {
        json!({
            "required": true,
            "content": { "application/json": { "schema": {
                "type": "object",
                "required": ["name", "password"],
                "properties": { "name": { "type": "string" }, "password": { "type": "string" } }
            } } }
        })
    })
}

fn success_schema(spec: &RouteSpec) -> Value {
    match spec.path {
        "/api/layers/{layer}" => json!({ "$ref": "#/components/schemas/FeatureCollection" }),
        "/api/layers/{layer}/{id}" | "/ogc/collections/{collectionId}/items/{featureId}" => {
            json!({ "$ref": "#/components/schemas/Feature" })
        }
        "/ogc/collections/{collectionId}/items" => {
            json!({ "$ref": "#/components/schemas/FeatureCollection" })
        }
        _ => json!({ "type": "object" }),
    }
}

/// The document.
#[allow(
    clippy::too_many_lines,
    reason = "the OpenAPI document is one JSON literal"
)]
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for spec in route_specs() {
        let mut params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(path_param)
            .collect();
        params.extend(query_params(&spec));
        let ok_content = if spec.path == "/tiles/{source}/{z}/{x}/{y}" {
            json!({ "application/vnd.mapbox-vector-tile": { "schema": { "type": "string", "format": "binary" } } })
        } else if spec.path == "/api/changes/stream" {
            // Each event: `id` the change's seq, `data` the change as JSON.
            json!({ "text/event-stream": { "schema": {
                "type": "object",
                "required": ["id", "data"],
                "properties": {
                    "id": { "type": "string", "pattern": "^[0-9]+$" },
                    "event": { "type": "string", "enum": ["message"] },
                    "data": { "type": "string", "contentMediaType": "application/json" }
                }
            } } })
        } else if spec.path == "/api/emergency/plan" {
            json!({
                "application/json": { "schema": { "type": "object" } },
                "application/geo+json": { "schema": { "type": "object" } },
                "text/csv": { "schema": { "type": "string" } },
                "text/html": { "schema": { "type": "string" } }
            })
        } else if spec
            .path
            .starts_with("/ogc/collections/{collectionId}/items")
        {
            json!({ "application/geo+json": { "schema": success_schema(&spec) } })
        } else {
            json!({ "application/json": { "schema": success_schema(&spec) } })
        };
        let mut op = json!({
            "summary": spec.summary,
            "operationId": format!("{}{}", spec.method.to_lowercase(), spec.path.replace(['/', '{', '}'], "_")),
            "parameters": params,
            "responses": {
                "200": { "description": "OK", "content": ok_content },
                "default": { "description": "a problem document", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
            }
        });
        if spec.path == "/tiles/{source}/{z}/{x}/{y}" {
            op["responses"]["204"] = json!({ "description": "an empty tile" });
            op["responses"]["304"] =
                json!({ "description": "If-None-Match holds: the tile has not changed" });
        }
        if let Some(body) = request_body(&spec) {
            op["requestBody"] = body;
        }
        op["security"] = match spec.access {
            Access::Public => json!([]),
            _ => json!([{ "bearer": [] }, { "session": [] }]),
        };
        if let Access::Roles(roles) = spec.access {
            op["description"] = json!(format!(
                "roles: {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}))[spec.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "wangge",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Grid-based community governance: regions, layers, plans, coverage, emergency. Every answer is cut to the caller's region scope; personal fields are projected per role."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "an API token from `wangge token create`" },
                "session": { "type": "apiKey", "in": "cookie", "name": super::auth::COOKIE }
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["title", "status", "detail"],
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                        "detail": { "type": "string" },
                        "code": { "type": "string", "description": "stable name of the message (not_found, session_ended, role_forbidden, refused, stale, ...): clients show it in their language" }
                    }
                },
                "Feature": {
                    "type": "object",
                    "required": ["type", "properties"],
                    "properties": {
                        "type": { "type": "string", "enum": ["Feature"] },
                        "id": {},
                        "geometry": { "type": "object", "nullable": true },
                        "properties": { "type": "object", "nullable": true }
                    }
                },
                "FeatureCollection": {
                    "type": "object",
                    "required": ["type", "features", "numberMatched", "numberReturned", "links"],
                    "properties": {
                        "type": { "type": "string", "enum": ["FeatureCollection"] },
                        "features": { "type": "array", "items": { "$ref": "#/components/schemas/Feature" } },
                        "numberMatched": { "type": "integer" },
                        "numberReturned": { "type": "integer" },
                        "links": { "type": "array", "items": { "type": "object" } }
                    }
                }
            }
        }
    })
}

pub async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_path_parameters() {
        let doc = document();
        for spec in route_specs() {
            let op = &doc["paths"][spec.path][spec.method.to_lowercase()];
            assert!(op.is_object(), "{} {} missing", spec.method, spec.path);
            let n = spec.path.matches('{').count();
            let path_params = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .count();
            assert_eq!(n, path_params, "{}", spec.path);
        }
    }
}
