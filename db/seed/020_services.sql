-- The 22 first-level services of a Positive Life center (DOMAIN.md). Seed
-- data: the welfare organisation may change it (re-seeding keeps its edits);
-- codes are never reused. scope: who "no parallel work" counts per (DOMAIN.md):
-- a person (by national id, across households) or a household.
INSERT INTO service (code, domain, scope, name_en, name_fa) VALUES
    ('SOC-01', 'social', 'household', 'Household file creation (intake)', 'تشکیل پرونده خانوار'),
    ('SOC-02', 'social', 'household', 'File update and periodic re-assessment', 'به‌روزرسانی پرونده مددکاری'),
    ('SOC-03', 'social', 'household', 'Social-work interview and needs assessment', 'مصاحبه مددکاری و نیازسنجی'),
    ('SOC-04', 'social', 'household', 'Home visit', 'بازدید از منزل'),
    ('SOC-05', 'social', 'household', 'Adoption / guardianship request', 'ثبت درخواست فرزندخواندگی'),
    ('SOC-06', 'social', 'household', 'Monthly pension request', 'درخواست برقراری مستمری'),
    ('SOC-07', 'social', 'person', 'Employment empowerment', 'توانمندسازی – اشتغال'),
    ('SOC-08', 'social', 'household', 'Housing support', 'توانمندسازی – مسکن'),
    ('SOC-09', 'social', 'person', 'Social-work counselling', 'خدمات مددکاری و مشاوره'),
    ('SOC-10', 'social', 'person', 'Out-of-school children', 'شناسایی فرزندان بازمانده از تحصیل'),
    ('SOC-11', 'social', 'household', 'Active need-finding', 'نیازمندیابی فعال'),
    ('PRV-01', 'prevention', 'person', 'Pre-marriage education', 'آموزش پیش از ازدواج'),
    ('PRV-02', 'prevention', 'person', 'Genetic counselling', 'مشاوره ژنتیک'),
    ('PRV-03', 'prevention', 'person', 'Genetic screening', 'غربالگری ژنتیک'),
    ('PRV-04', 'prevention', 'person', 'Women''s health screening', 'غربالگری سلامت زنان'),
    ('PRV-05', 'prevention', 'person', 'Child vision (amblyopia) screening', 'غربالگری بینایی کودکان'),
    ('PRV-06', 'prevention', 'household', 'Divorce prevention and family strengthening', 'پیشگیری از طلاق و تحکیم خانواده'),
    ('PRV-07', 'prevention', 'person', 'Life skills and social-harm prevention', 'مهارت‌های زندگی و پیشگیری از آسیب‌های اجتماعی'),
    ('RHB-01', 'rehabilitation', 'person', 'Rehabilitation file and medical commission', 'تشکیل پرونده توانبخشی و معرفی به کمیسیون پزشکی'),
    ('RHB-02', 'rehabilitation', 'person', 'Wheelchair and assistive devices', 'درخواست ویلچر و وسایل کمک‌توانبخشی'),
    ('RHB-03', 'rehabilitation', 'household', 'Home or vehicle accessibility adaptation', 'مناسب‌سازی مسکن و خودرو'),
    ('RHB-04', 'rehabilitation', 'person', 'Rehabilitation therapy / community-based rehabilitation', 'ارجاع به خدمات توانبخشی مبتنی بر جامعه')
ON CONFLICT (code) DO NOTHING; -- later edits by the organisation are kept
