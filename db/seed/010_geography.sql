-- Provinces, counties and one welfare office per county and per province,
-- from iran_counties.csv (loaded into the temporary table county_csv).
INSERT INTO province (code, name_fa, name_en)
SELECT DISTINCT province_code, province_fa, province_en FROM county_csv
ON CONFLICT (code) DO UPDATE SET name_fa = EXCLUDED.name_fa, name_en = EXCLUDED.name_en;

INSERT INTO county (code, province_code, name_fa, name_en)
SELECT county_code, province_code, county_fa, county_en FROM county_csv
ON CONFLICT (code) DO UPDATE
    SET province_code = EXCLUDED.province_code, name_fa = EXCLUDED.name_fa,
        name_en = EXCLUDED.name_en;

INSERT INTO office (code, kind, province_code, county_code, name_fa, name_en)
SELECT 'CO-' || code, 'county', province_code, code,
       'اداره بهزیستی شهرستان ' || name_fa, name_en || ' County Welfare Office'
FROM county
ON CONFLICT (code) DO UPDATE SET name_fa = EXCLUDED.name_fa, name_en = EXCLUDED.name_en;

INSERT INTO office (code, kind, province_code, county_code, name_fa, name_en)
SELECT 'PO-' || code, 'province', code, NULL,
       'اداره کل بهزیستی استان ' || name_fa, name_en || ' Province Welfare Office'
FROM province
ON CONFLICT (code) DO UPDATE SET name_fa = EXCLUDED.name_fa, name_en = EXCLUDED.name_en;
