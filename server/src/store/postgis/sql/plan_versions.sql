SELECT id, region, number, parent, author, created_at, message, published
FROM plan_versions WHERE region = $1 ORDER BY number
