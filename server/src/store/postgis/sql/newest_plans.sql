SELECT region, max(id) FROM plan_versions GROUP BY region
