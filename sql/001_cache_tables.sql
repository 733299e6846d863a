-- The cache DB of the original (seed 002), with proper keys and the indexes the lookups need.
CREATE TABLE customer_info (
  customer_id int PRIMARY KEY,
  gender varchar(1) NOT NULL,
  age int NOT NULL,
  mean_buy_price real NOT NULL,
  total_coupons_used int NOT NULL,
  mean_discount_received real NOT NULL,
  unique_products_bought int NOT NULL,
  unique_products_bought_with_coupons int NOT NULL,
  total_items_bought int NOT NULL
);

CREATE TABLE product_info (
  product_id int PRIMARY KEY,
  name varchar(256) NOT NULL,
  category varchar(50) NOT NULL,
  sizes varchar(50) NOT NULL,
  vendor varchar(50) NOT NULL,
  description varchar(256) NOT NULL,
  buy_price real NOT NULL,
  department varchar(10) NOT NULL
);
CREATE INDEX product_info_department ON product_info (department);

CREATE TABLE coupon_info (
  coupon_id int PRIMARY KEY,
  coupon_type varchar(16) NOT NULL CHECK (coupon_type IN ('just_discount', 'buy_more', 'buy_all', 'department')),
  department varchar(10) NOT NULL,
  discount int NOT NULL,
  how_many_products_required int NOT NULL,
  start_date varchar(10) NOT NULL,
  end_date varchar(10) NOT NULL,
  product_mean_price real NOT NULL,
  products_available int NOT NULL
);
CREATE INDEX coupon_info_department_dates ON coupon_info (department, start_date, end_date);

CREATE TABLE coupon_product (
  coupon_id int NOT NULL REFERENCES coupon_info (coupon_id) ON DELETE CASCADE,
  product_id int NOT NULL REFERENCES product_info (product_id) ON DELETE CASCADE,
  PRIMARY KEY (coupon_id, product_id)
);
CREATE INDEX coupon_product_product ON coupon_product (product_id);
