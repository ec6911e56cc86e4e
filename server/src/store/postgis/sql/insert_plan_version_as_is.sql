INSERT INTO plan_versions (id, region, number, parent, author, created_at, message, published)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, number
