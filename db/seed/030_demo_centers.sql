-- Demo Positive Life centers in seven provinces, for the quickstart and the
-- tests. Real deployments load their own center register.
INSERT INTO center (code, county_code, neighbourhood, name) VALUES
    (941,  '2301', 'Narmak',      'Positive Life Center 941 (Tehran, Narmak)'),
    (1924, '1002', 'Jolfa',       'Positive Life Center 1924 (Isfahan, Jolfa)'),
    (2441, '0916', 'Tollab',      'Positive Life Center 2441 (Mashhad, Tollab)'),
    (5165, '0707', 'Sadra',       'Positive Life Center 5165 (Shiraz, Sadra)'),
    (3102, '0303', 'Valiasr',     'Positive Life Center 3102 (Tabriz, Valiasr)'),
    (4207, '1105', 'Karimabad',   'Positive Life Center 4207 (Zahedan, Karimabad)'),
    (6010, '0105', 'Golsar',      'Positive Life Center 6010 (Rasht, Golsar)')
ON CONFLICT (code) DO NOTHING; -- later edits by the organisation are kept
