//! HTTP API (axum). Handlers are thin: they extract, make one call into the
//! snapshot or core, and answer JSON; errors become problem documents in
//! [`error`] and nowhere else.

pub mod auth;
mod basemap;
pub mod coverage;
mod edits;
pub mod emergency;
pub mod error;
pub mod heavy;
mod incident_paper;
mod incidents;
mod layers;
mod ledger;
pub mod limits;
mod ogc;
pub mod openapi;
mod people;
pub mod pickup;
pub mod plans;
mod regions;
mod search;
mod state;
mod stream;
mod text;
mod tiles;
pub mod uploads;
mod volunteers;
pub mod when;

use std::path::Path;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;

pub use error::ApiError;
pub use layers::parse_bbox;
pub use state::{AppState, CallerOf, CallerScope};

/// Who may call a route. Enforced before the handler runs, from this one
/// table, so the access matrix test sees exactly what the router does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (health, version, login).
    Public,
    /// Any signed-in user; what they see is still cut to their scope and
    /// their role's projection of personal fields.
    SignedIn,
    /// Only these roles.
    Roles(&'static [crate::access::Role]),
}

/// One route of the API: method, path, access rule and a summary for the
/// OpenAPI document.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

type Handler = axum::routing::MethodRouter<AppState>;

#[allow(
    clippy::too_many_lines,
    reason = "the route table: every route in one list reads best"
)]
fn table() -> Vec<(RouteSpec, Handler)> {
    use crate::access::Role;
    use crate::domain::{Building, Road};
    use Access::{Public, Roles, SignedIn};
    let r = |method, path, access, summary, h: Handler| {
        (
            RouteSpec {
                method,
                path,
                access,
                summary,
            },
            h,
        )
    };
    const EMERGENCY: &[Role] = &[Role::Admin, Role::Emergency, Role::Office];
    const COVERAGE: &[Role] = &[Role::Admin, Role::Office, Role::Planner];
    const PLAN_READ: &[Role] = &[Role::Admin, Role::Office, Role::Planner];
    const PLAN_WRITE: &[Role] = &[Role::Admin, Role::Planner];
    // Office and admin write the ledger; the viewer is let through so the
    // core answers it as every household read does (403 counts_only).
    const LEDGER: &[Role] = &[Role::Admin, Role::Office, Role::Viewer];
    const UPLOAD: &[Role] = &[Role::Admin, Role::Office];
    const CHANGES: &[Role] = &[Role::Admin, Role::Office, Role::Emergency, Role::Planner];
    // Planners and admins write the basemap (buildings, roads).
    const GROUND: &[Role] = &[Role::Admin, Role::Planner];
    // An incident's households: the viewer is let in to be told it sees
    // counts only (403 counts_only), as on every household route.
    const INCIDENT_HOUSEHOLDS: &[Role] =
        &[Role::Admin, Role::Emergency, Role::Office, Role::Viewer];
    vec![
        r(
            "GET",
            "/health",
            Public,
            "200 once the snapshot is loaded; answered before anything else runs, so no request can hold it up",
            get(health),
        ),
        r(
            "GET",
            "/health/ready",
            Public,
            "ready for work: the snapshot's generation, queue depth and running work per heavy route class; 503 when not ready",
            get(ready),
        ),
        r(
            "GET",
            "/api/version",
            Public,
            "name, version, store kind, snapshot generation",
            get(version),
        ),
        r(
            "GET",
            "/api/openapi.json",
            Public,
            "this API as an OpenAPI 3.0 document",
            get(openapi::serve),
        ),
        r(
            "POST",
            "/api/login",
            Public,
            "sign in: a session cookie and a CSRF token",
            post(auth::login),
        ),
        r(
            "POST",
            "/api/logout",
            SignedIn,
            "end the session",
            post(auth::logout),
        ),
        r(
            "GET",
            "/api/me",
            SignedIn,
            "the caller: name, role, scope",
            get(auth::me),
        ),
        r(
            "GET",
            "/api/audit",
            Roles(&[Role::Admin]),
            "the audit log (?user=&since=&limit=)",
            get(auth::audit_log),
        ),
        r(
            "GET",
            "/api/regions",
            SignedIn,
            "regions in scope with bbox and counts",
            get(regions::list),
        ),
        r(
            "GET",
            "/api/regions/{code}",
            SignedIn,
            "one region with its boundary",
            get(regions::detail),
        ),
        r(
            "GET",
            "/api/search",
            SignedIn,
            "regions, grids and addresses by what was typed (q, limit), city-wide in the caller's scope; addresses as the caller's role sees them",
            get(search::find),
        ),
        r(
            "GET",
            "/api/layers",
            SignedIn,
            "layers the caller may list, with their feature counts",
            get(layers::list),
        ),
        r(
            "GET",
            "/api/layers/{layer}",
            SignedIn,
            "a layer as GeoJSON, bbox filter, paged; households and people only for roles that see individuals (viewer, public map: 403 counts_only)",
            get(layers::items),
        ),
        r(
            "GET",
            "/api/layers/{layer}/{id}",
            SignedIn,
            "one feature as GeoJSON",
            get(layers::item),
        ),
        r("GET", "/ogc", SignedIn, "OGC API – Features landing page: links to the API definition, conformance and collections", get(ogc::landing)),
        r("GET", "/ogc/", SignedIn, "the landing page again: clients that join relative paths need the slash", get(ogc::landing)),
        r("GET", "/ogc/conformance", SignedIn, "OGC API – Features conformance classes (core, geojson, oas30)", get(ogc::conformance)),
        r("GET", "/ogc/collections", SignedIn, "one OGC collection per layer, and the grids of each region's current and published plan (plan_grids_current, plan_grids_published), with extents in the caller's scope", get(ogc::collections)),
        r("GET", "/ogc/collections/{collectionId}", SignedIn, "one OGC collection", get(ogc::collection_one)),
        r("GET", "/ogc/collections/{collectionId}/items", SignedIn, "a collection's features as GeoJSON: bbox filter, limit/offset paging with next/prev links; households and people: 403 counts_only for viewer and the public map; plan collections also take version (another plan version's grids) and level", get(ogc::items)),
        r("GET", "/ogc/collections/{collectionId}/items/{featureId}", SignedIn, "one feature as GeoJSON", get(ogc::item)),
        r("GET", "/api/regions/{code}/coverage", Roles(COVERAGE), "coverage of a region: roll-ups, per-grid figures, findings, suggested carers (json, csv, xlsx)", get(coverage::coverage)),
        r("GET", "/api/regions/{code}/gaps", Roles(COVERAGE), "gaps of a region as GeoJSON: kind, severity, counts", get(coverage::gaps)),
        r("POST", "/api/regions/{code}/plans", Roles(PLAN_WRITE), "generate plans for the leaf regions under a region: a job (202) with progress at /api/jobs/{id}; body {seed, locks, message}", post(plans::generate)),
        r("GET", "/api/regions/{code}/plans", Roles(PLAN_READ), "plan versions of the leaf regions under a region", get(plans::versions)),
        r("POST", "/api/regions/{code}/plans/from-grids", Roles(PLAN_WRITE), "grids drawn elsewhere (imported for a community) snapped onto the atoms of its newest plan and saved as the next version (201): every household and the area that changed grid, warnings", post(edits::from_grids)),
        r("GET", "/api/jobs/{id}", Roles(PLAN_WRITE), "a plan job: status, progress, the plans it made", get(plans::job)),
        r("GET", "/api/plans/{id}", Roles(PLAN_READ), "a plan: version, figures per level and grid", get(plans::detail)),
        r("GET", "/api/plans/{id}/grids", Roles(PLAN_READ), "a plan's grids as GeoJSON (?level=1|2|3): code, parent, households by care level, balance, shape", get(plans::grids)),
        r("GET", "/api/plans/{id}/metrics", Roles(PLAN_READ), "a plan's figures per level and grid (json, csv)", get(plans::metrics)),
        r("POST", "/api/plans/{id}/preview", Roles(PLAN_WRITE), "dry run of a hand edit: figures before and after for every grid it touches, warnings, or 422 naming the rule and the offending atoms; body {edit: {op: reassign|merge|move|restore, ...}, locks}", post(edits::preview)),
        r("POST", "/api/plans/{id}/edits", Roles(PLAN_WRITE), "save a hand edit as a new version (201, ETag); needs If-Match with the version's ETag: 412 with what changed when it is not the newest", post(edits::commit)),
        r("POST", "/api/plans/{id}/publish", Roles(PLAN_WRITE), "publish a version (201): unchanged grids keep their codes, new ones take the next number never used; needs If-Match", post(edits::publish)),
        r("GET", "/api/plans/{id}/atoms", Roles(PLAN_READ), "a plan's atoms as GeoJSON: grid codes at each level, households (a count), neighbouring atoms", get(edits::atoms)),
        r("GET", "/api/plans/{id}/diff/{other}", Roles(PLAN_READ), "how version other differs from id: grids added, retired, changed; atoms and households moved (json, geojson)", get(edits::diff)),
        r("GET", "/tiles", SignedIn, "vector tile sources with their TileJSON", get(tiles::list)),
        r("GET", "/tiles/{source}", SignedIn, "TileJSON 3.0.0 of a tile source", get(tiles::tilejson)),
        r("GET", "/tiles/{source}/{z}/{x}/{y}", SignedIn, "a vector tile (Mapbox Vector Tile 2.1, gzip) in the caller's scope and for their role (viewer, public map: household counts of at least k, no people); y ends in .mvt; ETag, 304, 204 when empty", get(tiles::tile)),
        r("GET", "/api/households/{id}", Roles(LEDGER), "one household as the ledger holds it, with its ETag (office, admin)", get(ledger::get_one)),
        r("PATCH", "/api/households/{id}", Roles(LEDGER), "change a household's address, size, care level, building or location; needs If-Match with its ETag: 428 without, 412 with the current record when stale; 422 with a code for a bad field; 403 outside the writer's scope", axum::routing::patch(ledger::update)),
        r("DELETE", "/api/households/{id}", Roles(LEDGER), "a household moved out (204); needs If-Match", axum::routing::delete(ledger::delete)),
        r("GET", "/api/households/{id}/history", Roles(LEDGER), "a household's history, newest first: who wrote it, when, the op and the fields changed (personal fields named, never their values); office, admin in their scope", get(ledger::history)),
        r("POST", "/api/households", Roles(LEDGER), "a new household (201, ETag, Location): body {location: [lon, lat], size, care, building, address, head_name, phone}; placed in the region holding it, which must be in the writer's scope", post(ledger::create)),
        r("POST", "/api/households/bulk", Roles(LEDGER), "many households at once (office, admin): a JSON array of {id?, location, size, care, building, address, head_name, phone}; with a held id an update, else a create; checked as an upload is and stored all or nothing in one transaction: 200 with the report, 422 upload_invalid with it; body up to upload_bytes", post(uploads::households_bulk)),
        r("POST", "/api/uploads", Roles(UPLOAD), "upload a CSV or XLSX table (the body; ?layer=households|people, crs=wgs84|cgcs2000|gcj02|bd09, encoding=utf-8|gb18030, name) read as `wangge import` reads it: 202 with a job whose dry run checks every row; 413 upload_bytes over the limit", post(uploads::start)),
        r("GET", "/api/uploads/{id}", Roles(UPLOAD), "an upload job: status (checking, ready, invalid, failed, committing, committed), rows read and validated, the dry run's report: problems {row, field, code, detail}, duplicates of held households by id or address, rows outside the scope", get(uploads::status)),
        r("POST", "/api/uploads/{id}/commit", Roles(UPLOAD), "store a checked upload all or nothing in one transaction (creates and updates, a change row, an audit line); 409 upload_not_ready / upload_committed, 422 upload_invalid when the report has problems", post(uploads::commit)),
        r("GET", "/api/people/{id}", Roles(LEDGER), "one staff member as the ledger holds them, with their ETag (office, admin)", get(people::get_one)),
        r("PATCH", "/api/people/{id}", Roles(LEDGER), "change a staff member's roles, home location, name, phone, team, availability or reserve flag; needs If-Match: 428 without, 412 with the current record when stale; 422 with a code (unknown_role, bad_location) for a bad field; 403 outside the writer's scope", axum::routing::patch(people::update)),
        r("DELETE", "/api/people/{id}", Roles(LEDGER), "a staff member left (204); needs If-Match", axum::routing::delete(people::delete)),
        r("PUT", "/api/people/{id}/grids", Roles(LEDGER), "assign a staff member exactly these grids (body: list of grid codes; [] unassigns); needs If-Match; 422 unknown_grid for a code no plan or imported grid has; 403 for a grid outside the writer's scope", axum::routing::put(people::put_grids)),
        r("POST", "/api/people", Roles(LEDGER), "a new staff member (201, ETag, Location): body {location: [lon, lat], roles: [grid_leader|full_time_worker|part_time_worker|building_head|party_household], name, phone, team, available, reserve}; placed in the region holding their home, which must be in the writer's scope", post(people::create)),
        r("GET", "/api/buildings/{id}", SignedIn, "one building (levels, height_m, kind, footprint) with its ETag", get(basemap::get_one::<Building>)),
        r("PATCH", "/api/buildings/{id}", Roles(GROUND), "change a building's footprint (geometry: GeoJSON Polygon or MultiPolygon, crs wgs84|cgcs2000|gcj02|bd09), levels, height_m or kind (its use); needs If-Match: 428 without, 412 with the current record when stale; 422 with a code and where (polygon, ring, vertex) for bad geometry; 403 when it lies in a region outside the writer's scope (planner, admin)", axum::routing::patch(basemap::update::<Building>)),
        r("DELETE", "/api/buildings/{id}", Roles(GROUND), "delete a building (204); needs If-Match", axum::routing::delete(basemap::delete::<Building>)),
        r("POST", "/api/buildings", Roles(GROUND), "a new building (201, ETag, Location): body {geometry, crs, levels, height_m, kind}; every region it lies in must be in the writer's scope", post(basemap::create::<Building>)),
        r("GET", "/api/roads/{id}", SignedIn, "one road (class, name, grade, centre line) with its ETag", get(basemap::get_one::<Road>)),
        r("PATCH", "/api/roads/{id}", Roles(GROUND), "change a road's centre line (geometry: GeoJSON LineString, crs), class, name or grade; needs If-Match: 428 without, 412 when stale; 422 with a code for a bad field; 403 outside the writer's scope; nearest-by-road and plan boundaries follow at once", axum::routing::patch(basemap::update::<Road>)),
        r("DELETE", "/api/roads/{id}", Roles(GROUND), "delete a road (204); needs If-Match", axum::routing::delete(basemap::delete::<Road>)),
        r("POST", "/api/roads", Roles(GROUND), "a new road (201, ETag, Location): body {geometry, crs, class, name, grade}; every region it runs through must be in the writer's scope", post(basemap::create::<Road>)),
        r("GET", "/api/changes", Roles(CHANGES), "the change log after ?since=SEQ (limit ≤ 1000): seq, time, layer, id, op, region, actor, in the caller's scope; no personal field", get(ledger::changes)),
        r("GET", "/api/changes/stream", Roles(CHANGES), "the change log as server-sent events (text/event-stream), live: one event per change (id: its seq, data: the change as /api/changes gives it), in the caller's scope; resumes after Last-Event-ID or ?since=SEQ, else from now; a comment every 15 s keeps it open", get(stream::stream)),
        r("GET", "/api/emergency/nearest", Roles(EMERGENCY), "k nearest available reserve volunteers to a point, by road or straight line", get(emergency::nearest)),
        r("POST", "/api/emergency/area", Roles(EMERGENCY), "a hazard area: households by care level and grid, grids and staff, volunteers nearby", post(emergency::area)),
        r("POST", "/api/emergency/plan", Roles(EMERGENCY), "dispatch plan: volunteers paired with vulnerable households (json, geojson, csv, html); only volunteers on duty are used", post(emergency::plan)),
        r("POST", "/api/emergency/dispatch", Roles(EMERGENCY), "confirm a dispatch plan: body {routes: [{volunteer, households: [ids], etag?}], incident?} as the plan paired them; every volunteer marked dispatched in one transaction, or none: 409 volunteer_unavailable naming those no longer on duty, 412 when a route's etag is stale, 422 (empty_dispatch, unknown_household, duplicate_volunteer); with an incident (404 unseen, 409 incident_closed), who went to which household goes on its record (sent) and timeline in the same transaction, and its next plan leaves those households to them; answers the volunteers with their new ETags", post(volunteers::dispatch)),
        r("GET", "/api/incidents", Roles(EMERGENCY), "the incidents whose hazard areas (any version) meet the caller's scope, newest first: title, kind (flood, fire, quake, epidemic, other), status (open, closed), opened by and at, every area version with who drew it and when, ETag", get(incidents::list)),
        r("POST", "/api/incidents", Roles(EMERGENCY), "open an incident (201, ETag, Location): body {title, kind, polygon (GeoJSON, WGS-84) | circle {lon, lat, radius_m}}; the area must meet the writer's scope (403); 422 bad_title, unknown_kind; 400 for a bad area; written with its first timeline line, change row and audit line in one transaction", post(incidents::open)),
        r("GET", "/api/incidents/{id}", Roles(EMERGENCY), "one incident with its area versions, timeline (who, when, what) and who was sent to which household (sent: household, volunteer, by, at), ETag; 404 outside the caller's scope", get(incidents::get_one)),
        r("POST", "/api/incidents/{id}/areas", Roles(EMERGENCY), "redraw the hazard area (a new version, the ones before kept): body {polygon | circle}; needs If-Match: 428 without, 412 with the current incident when stale; 409 incident_closed", post(incidents::redraw)),
        r("POST", "/api/incidents/{id}/notes", Roles(EMERGENCY), "a note on the timeline: body {note}; needs If-Match (428, 412); 409 incident_closed; 422 bad_note", post(incidents::note)),
        r("POST", "/api/incidents/{id}/close", Roles(EMERGENCY), "close the incident (it takes no more writes): body {note?}; needs If-Match (428, 412); 409 incident_closed when it already is", post(incidents::close)),
        r("GET", "/api/incidents/{id}/households", Roles(INCIDENT_HOUSEHOLDS), "the households marked in an incident (the others are untouched): household, status (contacted, reached, not_home, needs_evacuation, evacuated), note, by, at, version, ETag; only those in the caller's scope", get(incidents::statuses)),
        r("PUT", "/api/incidents/{id}/households/{household}", Roles(INCIDENT_HOUSEHOLDS), "mark a household's status in an incident: body {status, note?}; needs If-Match with the status's ETag (\"incident-{id}-household-{household}-0\" when never marked): 428 without, 412 with the current status when another officer marked it first; 422 unknown_status, unknown_household; 409 incident_closed; reached and evacuated households are left out of a plan made for the incident", axum::routing::put(incidents::mark)),
        r("GET", "/api/incidents/{id}/tally", Roles(EMERGENCY), "the live tally of an incident: minutes open, area version, households in the area, vulnerable households by care level and status (total, served), by grid and by community, volunteers within 2 km by status (and inside the area), and the households still waiting ordered by priority (连心户 first, then the longest wait since the area first held them): ?limit= (200, at most 5,000); personal fields projected for the role", get(incident_paper::tally)),
        r("GET", "/api/incidents/{id}/sheet", Roles(EMERGENCY), "printable sheets with tick boxes (text/html), times in the server's zone to the minute: ?by=grid (default: a page per grid, its waiting households in priority order) or ?by=team (a page per volunteer team near the area)", get(incident_paper::sheet)),
        r("GET", "/api/incidents/{id}/report", Roles(EMERGENCY), "the incident's report: figures, tallies by care level, grid and community, area versions, the timeline and who was reached when; ?format=html (default, printable) or xlsx", get(incident_paper::report)),
        r("GET", "/api/volunteers", Roles(EMERGENCY), "the volunteer roster in the caller's scope (?status=on_duty|off_duty|dispatched, team, offset, limit ≤ 1000): id, name and phone as the role sees them, team, skills, status, location (the check-in when set, else home), ETag", get(volunteers::list)),
        r("GET", "/api/volunteers/{id}", Roles(EMERGENCY), "one volunteer with their ETag", get(volunteers::get_one)),
        r("PATCH", "/api/volunteers/{id}", Roles(EMERGENCY), "change a volunteer's status (on_duty, off_duty, dispatched), skills, team or check-in [lon, lat] (null clears); needs If-Match: 428 without, 412 with the current record when stale; 422 with a code (unknown_status, bad_location, bad_skill, outside_regions); 403 out_of_scope for a check-in outside the writer's scope", axum::routing::patch(volunteers::update)),
    ]
}

/// The API's routes, for documentation and the access matrix test.
pub fn route_specs() -> Vec<RouteSpec> {
    table().into_iter().map(|(s, _)| s).collect()
}

/// The whole application: API routes, then the viewer's static files.
pub fn router(state: AppState, viewer_dist: Option<&Path>) -> Router {
    let tls = state.secure_cookies;
    let mut api = Router::new();
    for (spec, handler) in table() {
        let access = spec.access;
        api = api.route(
            spec.path,
            handler.route_layer(axum::middleware::from_fn(move |req, next| {
                auth::authorize(access, req, next)
            })),
        );
    }
    // Unknown paths under the API's prefixes, any method: a 404 problem
    // (`code: no_route`), never the viewer's page (see [`no_route`]).
    let mut api = api;
    for path in NO_ROUTE_PATHS {
        api = api.route(path, any(no_route));
    }
    let api = api
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state.clone());
    // `/tiles/{*rest}` cannot be a route beside `/tiles/{source}/...`, so
    // the fallback keeps unknown paths of the API's prefixes from the viewer.
    let app = match viewer_dist.filter(|d| d.join("index.html").is_file()) {
        Some(dist) => {
            let files = Router::new()
                .fallback_service(
                    ServeDir::new(dist)
                        .precompressed_br()
                        .precompressed_gzip()
                        .fallback(
                            ServeFile::new(dist.join("index.html"))
                                .precompressed_br()
                                .precompressed_gzip(),
                        ),
                )
                .layer(axum::middleware::map_response(asset_caching));
            api.fallback(move |req: axum::extract::Request| {
                let files = files.clone();
                async move {
                    if under_api(req.uri().path()) {
                        return no_route(req.uri().clone()).await.into_response();
                    }
                    use tower::ServiceExt as _;
                    files.oneshot(req).await.into_response()
                }
            })
        }
        None => api.fallback(|uri: axum::http::Uri| async move {
            if under_api(uri.path()) {
                no_route(uri).await
            } else {
                viewer_missing(uri).await
            }
        }),
    };
    let app = app
        .layer(axum::middleware::from_fn_with_state(state, health_first))
        .layer(DefaultBodyLimit::max(limits::JSON_BODY_BYTES))
        .layer(axum::middleware::from_fn(body_within_limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(axum::middleware::map_response(problems_only));
    with_security_headers(app, tls).layer(axum::middleware::from_fn(access_log))
}

/// Cache rules of the viewer's files: the build names everything under
/// `/assets/` by a hash of its content, so those are cached for a year and
/// never asked again; the rest (index.html, which names the current hashes)
/// is revalidated on every visit. Precompressed `.br`/`.gz` siblings made
/// at build time are sent to clients that accept them.
async fn asset_caching(mut resp: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
    if !(resp.status().is_success() || resp.status() == axum::http::StatusCode::NOT_MODIFIED) {
        return resp;
    }
    let html = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let value = if html {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(value));
    resp
}

/// `GET /health` answered before routing, authentication and the store
/// (only cheap layers wrap it: body limits, timeout, problem mapping, the
/// log line and the security headers): it reads the
/// snapshot's generation and takes no lock, so nothing a request does can
/// hold it up.
async fn health_first(
    state: axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.uri().path() == "/health" && req.method() == axum::http::Method::GET {
        return health(state).await.into_response();
    }
    next.run(req).await
}

/// A body announced larger than [`limits::JSON_BODY_BYTES`] is refused
/// before a byte of it is read (a 413 naming the limit); one that only
/// turns out larger is cut by `DefaultBodyLimit` (see [`problems_only`]).
async fn body_within_limit(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (max, limit) = limits::body_limit(req.uri().path());
    if let Some(n) = announced.filter(|n| *n > max as u64) {
        return limits::too_large(Some(n), max, limit).into_response();
    }
    next.run(req).await
}

/// One line per request: method, path, status and time taken; server
/// errors at `warn`. A single event, no span, because at tens of thousands
/// of requests a second a span per request costs a tenth of the work.
async fn access_log(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let micros = started.elapsed().as_micros();
    if status >= 500 {
        tracing::warn!(%method, path, status, micros, "request");
    } else {
        tracing::info!(%method, path, status, micros, "request");
    }
    resp
}

/// Makes every error answer a problem document (RFC 9457): axum's own
/// rejections (a malformed query, a body that is not JSON: text/plain),
/// its empty 405 for a known path with another method, the 408 of the
/// timeout, a 413 or 415, whatever a layer answers. Answers that already
/// are problem documents pass unchanged.
async fn problems_only(resp: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{ALLOW, CONTENT_TYPE};
    let status = resp.status();
    let problem = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || problem {
        return resp;
    }
    let allow = resp.headers().get(ALLOW).cloned();
    let retry = resp.headers().get(axum::http::header::RETRY_AFTER).cloned();
    let www = resp
        .headers()
        .get(axum::http::header::WWW_AUTHENTICATE)
        .cloned();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        // The body limit, found while reading a body of unknown length.
        return limits::body_too_large(None).into_response();
    }
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    let detail = match status {
        s if s.is_server_error() => "internal error; the server log has the cause".to_string(),
        _ if !text.is_empty() => text,
        axum::http::StatusCode::METHOD_NOT_ALLOWED => format!(
            "this method is not allowed here; allowed: {}",
            allow
                .as_ref()
                .and_then(|a| a.to_str().ok())
                .unwrap_or("see /api/openapi.json")
        ),
        axum::http::StatusCode::REQUEST_TIMEOUT => {
            "the request took longer than the server allows".to_string()
        }
        s => s.canonical_reason().unwrap_or("error").to_string(),
    };
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": error::status_code_name(status),
    });
    let mut out = (
        status,
        [(CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response();
    for (name, v) in [
        (ALLOW, allow),
        (axum::http::header::RETRY_AFTER, retry),
        (axum::http::header::WWW_AUTHENTICATE, www),
    ] {
        if let Some(v) = v {
            out.headers_mut().insert(name, v);
        }
    }
    out
}

/// Strict headers on every answer: our own origin only (the viewer needs
/// nothing from elsewhere), no framing, no sniffing, no referrer, and under
/// TLS `Strict-Transport-Security` (a year), so browsers never fall back
/// to plain HTTP. CORS stays closed: no `Access-Control-Allow-Origin` is
/// ever sent.
fn with_security_headers(app: Router, tls: bool) -> Router {
    use axum::http::{header, HeaderValue};
    use tower_http::set_header::SetResponseHeaderLayer as Set;
    let csp = "default-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; child-src 'self' blob:; \
               style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
               frame-ancestors 'none'; base-uri 'self'; form-action 'self'";
    app.layer(Set::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    ))
    .layer(Set::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    .layer(Set::overriding(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    ))
    .layer(Set::overriding(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ))
    .layer(Set::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        tls.then(|| HeaderValue::from_static("max-age=31536000")),
    ))
}

/// Answers 200 once the snapshot is loaded (the server binds only then).
async fn health(state: axum::extract::State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "generation": state.snapshot.load().generation }))
}

/// `GET /health/ready`: whether the server can take work, and how loaded
/// its heavy pool is. 503 when a lane of the pool has no thread left.
async fn ready(state: axum::extract::State<AppState>) -> axum::response::Response {
    let s = state.snapshot.load();
    let load = state.heavy.load();
    let ready = state.heavy.healthy();
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        // The server binds only once the snapshot is loaded; every write
        // swaps in a newer one (a higher generation) once committed.
        "snapshot": { "loaded": true, "generation": s.generation },
        // Plans evaluated over the snapshot's ground so far: none at a
        // start whose store kept the grid shapes of the plans in force.
        "plans_evaluated": s.evaluations(),
        // The change log: the seq up to which the snapshot holds every
        // change, and how often writes made elsewhere (a `wangge import`
        // into the served store) were picked up by a reload.
        "changes": { "applied": state.follow.applied(), "picked_up": state.follow.pickups() },
        "heavy": load,
    });
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn version(state: axum::extract::State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "name": "wangge",
        "version": env!("CARGO_PKG_VERSION"),
        "store": state.store.kind(),
        "generation": state.snapshot.load().generation,
    }))
}

/// Catch-alls of the prefixes the viewer's files must never answer.
const NO_ROUTE_PATHS: [&str; 3] = ["/api", "/api/{*rest}", "/ogc/{*rest}"];

/// Paths the viewer's files must never answer.
fn under_api(path: &str) -> bool {
    ["/api", "/ogc", "/tiles"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// Any unknown path under `/api`, `/ogc` or `/tiles`.
async fn no_route(uri: axum::http::Uri) -> ApiError {
    let index = match uri.path().split('/').nth(1) {
        Some("ogc") => "/ogc",
        Some("tiles") => "/tiles",
        _ => "/api/openapi.json",
    };
    ApiError::NoRoute(format!("no route {}; see {index}", uri.path()))
}

async fn viewer_missing(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "{}: the viewer is not built (run scripts/demo, or npm run build in viewer/)",
        uri.path()
    ))
}
