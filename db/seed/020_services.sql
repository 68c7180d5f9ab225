-- The 22 first-level services of a Positive Life center (DOMAIN.md). Seed
-- data: the welfare organisation may change it (re-seeding keeps its edits);
-- codes are never reused.
INSERT INTO service (code, domain, name_en, name_fa) VALUES
    ('SOC-01', 'social', 'Household file creation (intake)', 'تشکیل پرونده خانوار'),
    ('SOC-02', 'social', 'File update and periodic re-assessment', 'به‌روزرسانی پرونده مددکاری'),
    ('SOC-03', 'social', 'Social-work interview and needs assessment', 'مصاحبه مددکاری و نیازسنجی'),
    ('SOC-04', 'social', 'Home visit', 'بازدید از منزل'),
    ('SOC-05', 'social', 'Adoption / guardianship request', 'ثبت درخواست فرزندخواندگی'),
    ('SOC-06', 'social', 'Monthly pension request', 'درخواست برقراری مستمری'),
    ('SOC-07', 'social', 'Employment empowerment', 'توانمندسازی – اشتغال'),
    ('SOC-08', 'social', 'Housing support', 'توانمندسازی – مسکن'),
    ('SOC-09', 'social', 'Social-work counselling', 'خدمات مددکاری و مشاوره'),
    ('SOC-10', 'social', 'Out-of-school children', 'شناسایی فرزندان بازمانده از تحصیل'),
    ('SOC-11', 'social', 'Active need-finding', 'نیازمندیابی فعال'),
    ('PRV-01', 'prevention', 'Pre-marriage education', 'آموزش پیش از ازدواج'),
    ('PRV-02', 'prevention', 'Genetic counselling', 'مشاوره ژنتیک'),
    ('PRV-03', 'prevention', 'Genetic screening', 'غربالگری ژنتیک'),
    ('PRV-04', 'prevention', 'Women''s health screening', 'غربالگری سلامت زنان'),
    ('PRV-05', 'prevention', 'Child vision (amblyopia) screening', 'غربالگری بینایی کودکان'),
    ('PRV-06', 'prevention', 'Divorce prevention and family strengthening', 'پیشگیری از طلاق و تحکیم خانواده'),
    ('PRV-07', 'prevention', 'Life skills and social-harm prevention', 'مهارت‌های زندگی و پیشگیری از آسیب‌های اجتماعی'),
    ('RHB-01', 'rehabilitation', 'Rehabilitation file and medical commission', 'تشکیل پرونده توانبخشی و معرفی به کمیسیون پزشکی'),
    ('RHB-02', 'rehabilitation', 'Wheelchair and assistive devices', 'درخواست ویلچر و وسایل کمک‌توانبخشی'),
    ('RHB-03', 'rehabilitation', 'Home or vehicle accessibility adaptation', 'مناسب‌سازی مسکن و خودرو'),
    ('RHB-04', 'rehabilitation', 'Rehabilitation therapy / community-based rehabilitation', 'ارجاع به خدمات توانبخشی مبتنی بر جامعه')
ON CONFLICT (code) DO NOTHING; -- later edits by the organisation are kept
